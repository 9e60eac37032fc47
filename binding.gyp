{
  "targets": [
    {
      "target_name": "tierfs_fuse",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/fuse').filter(f => /\\.(c|cc)$/.test(f)).map(f => 'native/fuse/' + f).join(' ')\")", "native/ec/crc32.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "/usr/include/fuse3", "native/ec"],
      "libraries": ["-lfuse3", "-lpthread", "-lz"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS", "FUSE_USE_VERSION=314", "_FILE_OFFSET_BITS=64"],
      "cflags": ["-O2", "-Wall"],
      "cflags_cc": ["-O2", "-Wall", "-std=c++17"]
    },
    {
      "target_name": "tierfs_ec",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/ec').filter(f => /\\.(c|cc)$/.test(f)).map(f => 'native/ec/' + f).join(' ')\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "libraries": ["-lz", "-lpthread"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-O3", "-Wall"],
      "cflags_cc": ["-O3", "-Wall", "-std=c++17"]
    }
  ]
}
