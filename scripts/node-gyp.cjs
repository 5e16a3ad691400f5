'use strict';
// How to start node-gyp, for scripts/install.cjs (a user's install) and
// scripts/build-dev.cjs (development builds): [command, ...leading args].
const fs = require('node:fs');
const path = require('node:path');

function nodeGypCommand() {
  // npm names the node-gyp it would use.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    // npm ships node-gyp beside itself.
    const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(bundled)) return [process.execPath, bundled];
  }
  return ['node-gyp'];
}

module.exports = { nodeGypCommand };
