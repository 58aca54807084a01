// The addon's helpers that need no mapping: what an fd is (fstat and
// fstatfs in one call), memfds, ftruncate and close for any fd, and the
// address of a buffer. Each is a Node-API function registered by
// InitHelpers (addon.h).
#pragma once

#include <napi.h>

namespace kmmap {

// fileFacts(fd, out: BigUint64Array(6)) fills [st_mode, st_size, st_dev,
// st_ino, st_rdev, f_type] (f_type 0 if fstatfs fails).
Napi::Value FileFacts(const Napi::CallbackInfo& info);

// memfdCreate(name, flags) -> fd, within kmmap's budget of owned fds.
Napi::Value MemfdCreate(const Napi::CallbackInfo& info);

// open(path, flags) -> fd (O_CLOEXEC); ftruncate(fd, length) and close(fd) of any fd.
Napi::Value OpenFd(const Napi::CallbackInfo& info);
Napi::Value Ftruncate(const Napi::CallbackInfo& info);
Napi::Value CloseFd(const Napi::CallbackInfo& info);

// addressOf(arrayBuffer | view) -> bigint address of its first byte.
Napi::Value AddressOf(const Napi::CallbackInfo& info);

}  // namespace kmmap
