{
  # RSEQ_DEV_BUILD=1 in the environment marks the project's own development
  # and CI builds (`npm test`, `npm run bench`, `npm run build:dev`): warnings
  # are errors, and the development addon (the rseq_dev target below) is
  # built too. A user's install never sets it: there a newer compiler's new
  # warning stays a warning and never drops the user to the simulator.
  # `node-gyp rebuild -- -Drseq_dev=1` does the same without the variable.
  "variables": {
    "rseq_dev%": "<!(node -p \"process.env.RSEQ_DEV_BUILD === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      # The shipped addon: build/Release/rseq.node.
      "target_name": "rseq",
      "sources": [
        "native/addon.cc",
        "native/affinity_binding.cc",
        "native/auxv.cc",
        "native/env_lifetime.cc",
        "native/errno_names.cc",
        "native/errno_table.cc",
        "native/napi_util.cc",
        "native/op_args.cc",
        "native/percpu.cc",
        "native/probe.cc",
        "native/probe_binding.cc",
        "native/region.cc",
        "native/region_binding.cc",
        "native/region_ffi.cc",
        "native/registration.cc",
        "native/registration_binding.cc",
        "native/sections_binding.cc",
        "native/selftest.cc",
        "native/selftest_binding.cc",
        "native/slice.cc",
        "native/slice_binding.cc"
      ],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        # A throw into an env that is shutting down (a worker being
        # terminated) is dropped instead of being a fatal error.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      # Hidden visibility: the core's calls to its own functions (op_add,
      # op_current_id) are direct, not through the PLT (bench/README.md);
      # only the module's init entry point and the rseq_ffi_* functions of
      # native/region_ffi.h (node:ffi, RSEQ_FFI=1) are exported.
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags!": ["-fexceptions", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions", "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
      "cflags_cc!": ["-fexceptions", "-std=gnu++17", "-std=gnu++20"],
      "libraries": ["-ldl", "-lpthread"],
      # Never unloaded, even when only a worker thread loaded it and that
      # worker ends: threads' rseq_cs may still point at descriptors in this
      # library (the kernel reads them on the next preemption), and the
      # per-thread cleanup (pthread-key destructors) runs code from it.
      "ldflags": [
        "-Wl,-z,nodelete"
      ],
      "conditions": [
        ["rseq_dev==1", {
          "cflags": ["-Werror"],
          "cflags_cc": ["-Werror"]
        }]
      ]
    }
  ],
  "conditions": [
    ["rseq_dev==1", {
      "targets": [
        {
          # The development addon: build/Release/rseq_dev.node, the shipped
          # addon's sources and settings (keep the two lists alike: the
          # native tests compare them) plus benchLoop (bench/native/bench.cc)
          # and the test hooks of RSEQ_DEV_HOOKS. bench/ and the tests load
          # it with RSEQ_ADDON.
          "target_name": "rseq_dev",
          "sources": [
            "native/addon.cc",
            "native/affinity_binding.cc",
            "native/auxv.cc",
            "native/env_lifetime.cc",
            "native/errno_names.cc",
            "native/errno_table.cc",
            "native/napi_util.cc",
            "native/op_args.cc",
            "native/percpu.cc",
            "native/probe.cc",
            "native/probe_binding.cc",
            "native/region.cc",
            "native/region_binding.cc",
            "native/region_ffi.cc",
            "native/registration.cc",
            "native/registration_binding.cc",
            "native/sections_binding.cc",
            "native/selftest.cc",
            "native/selftest_binding.cc",
            "native/slice.cc",
            "native/slice_binding.cc",
            "bench/native/bench.cc"
          ],
          "include_dirs": [
            "native",
            "bench/native",
            "<!(node -p \"require('node-addon-api').include_dir\")"
          ],
          "defines": [
            "NAPI_VERSION=8",
            "NODE_ADDON_API_DISABLE_DEPRECATED",
            "NAPI_DISABLE_CPP_EXCEPTIONS",
            "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
            "RSEQ_DEV_HOOKS"
          ],
          "cflags": ["-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"],
          "cflags!": ["-fexceptions", "-Wno-unused-parameter"],
          "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
          "cflags_cc!": ["-fexceptions", "-std=gnu++17", "-std=gnu++20"],
          "libraries": ["-ldl", "-lpthread"],
          "ldflags": [
            "-Wl,-z,nodelete"
          ]
        }
      ]
    }]
  ]
}
