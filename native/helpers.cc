// Helpers that need no mapping (helpers.h): file facts, memfds, fd
// operations and buffer addresses.
#include "helpers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "errors.h"
#include "addon.h"
#include "live_mapping.h"

namespace kmmap {

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U  // Linux 6.8: a mount ID never reused
#endif

namespace {

// A filesystem's type is fixed for as long as it is mounted, and a unique
// mount ID (STATX_MNT_ID_UNIQUE) is never given to another mount: so the
// f_type that fstatfs gave for a mount can answer for every later file on
// it, saving a system call per map() (a tenth of a small file's map cycle).
// A few mounts per thread (each worker has its own), replaced in turn.
struct MountType {
  uint64_t mount_id;  // 0: empty
  uint64_t type;
};
constexpr int kMountTypes = 8;
thread_local MountType t_mount_types[kMountTypes];
thread_local int t_next_mount_type;

// What fstat says, through statx when the kernel has it (4.11+; with the
// unique mount ID, 6.8+). *mount_id is 0 when the kernel gave none.
int StatFd(int fd, struct stat* st, uint64_t* mount_id) {
  *mount_id = 0;
  struct statx sx;
  // The system call, not glibc's wrapper (2.28+), so the addon loads on
  // older glibc; a kernel or seccomp profile without it falls back to fstat.
  if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT,
              STATX_BASIC_STATS | STATX_MNT_ID_UNIQUE, &sx) != 0) {
    return fstat(fd, st) == 0 ? 0 : errno;
  }
  *st = {};
  st->st_mode = sx.stx_mode;
  st->st_size = static_cast<off_t>(sx.stx_size);
  st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st->st_ino = sx.stx_ino;
  st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  if (sx.stx_mask & STATX_MNT_ID_UNIQUE) *mount_id = sx.stx_mnt_id;
  return 0;
}

// The filesystem's magic number (statfs f_type), 0 if unknown.
uint64_t FilesystemType(int fd, uint64_t mount_id) {
  if (mount_id != 0) {
    for (const MountType& known : t_mount_types) {
      if (known.mount_id == mount_id) return known.type;
    }
  }
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) return 0;  // unknown: not remembered
  uint64_t type = static_cast<uint64_t>(fs.f_type);
  if (mount_id != 0) {
    t_mount_types[t_next_mount_type] = {mount_id, type};
    t_next_mount_type = (t_next_mount_type + 1) % kMountTypes;
  }
  return type;
}

}  // namespace

// All map() needs to know of a file, in one call and without a path: the
// Date objects of fs.fstatSync's BigIntStats cost a tenth of a small map(),
// statfs through /proc/self/fd/N a third; and it works for any fd, while
// some runtimes' fs (Deno's) knows only the fds it opened itself.
Napi::Value FileFacts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 2 && info[0].IsNumber() &&
                   info[1].IsTypedArray() &&
                   info[1].As<Napi::TypedArray>().TypedArrayType() ==
                       napi_biguint64_array &&
                   info[1].As<Napi::TypedArray>().ElementLength() == 6,
               "fileFacts(fd, BigUint64Array(6))");
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct stat st;
  uint64_t mount_id;
  if (int err = StatFd(fd, &st, &mount_id)) return ThrowErrno(env, err, "fstat");
  // The filesystem only refines what stat says: unknown (0) if fstatfs fails.
  uint64_t type = FilesystemType(fd, mount_id);
  auto out = info[1].As<Napi::BigUint64Array>();
  out[0] = st.st_mode;
  out[1] = static_cast<uint64_t>(st.st_size);
  out[2] = st.st_dev;
  out[3] = st.st_ino;
  out[4] = st.st_rdev;
  out[5] = type;
  return env.Undefined();
}

// Node has no memfd_create. The memfd becomes a mapping's (map(...,
// ownedFd)), so it counts against the owned fds' budget.
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 2 && info[0].IsString() && info[1].IsNumber(),
               "memfdCreate(name, flags)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  unsigned int flags = info[1].As<Napi::Number>().Uint32Value();
  if (!CheckOwnedFdBudget(env)) return env.Undefined();
  // The syscall, not glibc's wrapper, so the addon loads on older glibc.
  long fd = syscall(SYS_memfd_create, name.c_str(), flags);
  if (fd < 0) return ThrowErrno(env, errno, "memfd_create");
  return Napi::Number::New(env, static_cast<double>(fd));
}

// ftruncate(fd, length) and close(fd), for the memfds memfdCreate() made:
// fs.ftruncateSync and fs.closeSync do the same on Node, but not on a
// runtime whose fs refuses fds it did not open (Deno).
Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 2 && info[0].IsNumber() && info[1].IsNumber(),
               "ftruncate(fd, length)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  double length = info[1].As<Napi::Number>().DoubleValue();
  KMMAP_EXPECT(length >= 0 && length <= 9007199254740991.0,
               "length must be a safe integer");
  int result;
  do {
    result = ftruncate(fd, static_cast<off_t>(length));
  } while (result != 0 && errno == EINTR);
  if (result != 0) return ThrowErrno(env, errno, "ftruncate");
  return env.Undefined();
}

// open(path, flags) -> fd, O_CLOEXEC added: map(path) opens, maps and closes
// a file per call, and fs.openSync's and fs.closeSync's own checks cost
// more than the two system calls. path is a string or, for bytes that are
// not UTF-8, a Uint8Array of its own (lib/ copies the Buffer: a runtime may
// hand Node-API a pooled Buffer's data without its offset). lib/ has checked
// that it holds no NUL byte.
Napi::Value OpenFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 2 &&
                   (info[0].IsString() ||
                    (info[0].IsTypedArray() &&
                     info[0].As<Napi::TypedArray>().TypedArrayType() ==
                         napi_uint8_array)) &&
                   info[1].IsNumber(),
               "open(path, flags)");
  std::string path;
  if (info[0].IsString()) {
    path = info[0].As<Napi::String>().Utf8Value();
  } else {
    auto bytes = info[0].As<Napi::Uint8Array>();
    path.assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ElementLength());
  }
  KMMAP_EXPECT(path.find('\0') == std::string::npos, "path without NUL bytes");
  int flags = info[1].As<Napi::Number>().Int32Value();
  int fd;
  do {
    fd = open(path.c_str(), flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ThrowErrno(env, errno, "open");
  return Napi::Number::New(env, fd);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 1 && info[0].IsNumber(), "close(fd)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  // Linux frees the fd even when close() reports EINTR: never retry.
  if (close(fd) != 0 && errno != EINTR) return ThrowErrno(env, errno, "close");
  return env.Undefined();
}

// addressOf(arrayBuffer | view) -> bigint address of its first byte.
Napi::Value AddressOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 1, "addressOf(buffer)");
  void* data = nullptr;
  if (info[0].IsArrayBuffer()) {
    data = info[0].As<Napi::ArrayBuffer>().Data();
  } else if (info[0].IsTypedArray()) {
    Napi::TypedArray view = info[0].As<Napi::TypedArray>();
    data = static_cast<uint8_t*>(view.ArrayBuffer().Data()) +
           view.ByteOffset();
  } else if (info[0].IsDataView()) {
    Napi::DataView view = info[0].As<Napi::DataView>();
    data = static_cast<uint8_t*>(view.ArrayBuffer().Data()) +
           view.ByteOffset();
  } else {
    return ThrowTypeError(env, "addressOf(buffer): expected a buffer");
  }
  return Napi::BigInt::New(env, static_cast<uint64_t>(
                                    reinterpret_cast<uintptr_t>(data)));
}

void InitHelpers(Napi::Env env, Napi::Object exports) {
  exports.Set("fileFacts", Napi::Function::New(env, FileFacts, "fileFacts"));
  exports.Set("memfdCreate",
              Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("ftruncate", Napi::Function::New(env, Ftruncate, "ftruncate"));
  exports.Set("open", Napi::Function::New(env, OpenFd, "open"));
  exports.Set("close", Napi::Function::New(env, CloseFd, "close"));
  exports.Set("addressOf", Napi::Function::New(env, AddressOf, "addressOf"));
}

}  // namespace kmmap
