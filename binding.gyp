{
  "targets": [
    {
      "target_name": "kmmap",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/helpers.cc",
        "native/ioctl.cc",
        "native/mapping.cc",
        "native/memory.cc",
        "native/pagemap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fstack-protector-strong"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
