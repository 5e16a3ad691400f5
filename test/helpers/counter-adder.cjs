'use strict';
// A worker that adds `adds` ones to a PerCpuCounter on its default path, then ends.
const { workerData } = require('node:worker_threads');
const { PerCpuCounter } = require(workerData.entry);
const c = PerCpuCounter.from(workerData.buffer);
for (let i = 0; i < workerData.adds; i++) c.add();
