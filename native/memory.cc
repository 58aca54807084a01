// Operations on the memory of a live mapping: msync, madvise, mlock2,
// munlock, mprotect and mincore. Each takes a mapping handle and a
// page-aligned range of it (ReadMappingRange), never a bare address, so no
// call can reach memory that is not a kmmap mapping (madvise(DONTNEED) on
// the JavaScript heap would be a disaster). lib/memory.ts names the flags.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"
#include "addon.h"
#include "live_mapping.h"

namespace kmmap {
namespace {

// Reads info[3] as an int argument (flags, advice, protection).
bool ReadIntArgument(const Napi::CallbackInfo& info, int* value) {
  if (info.Length() != 4 || !info[3].IsNumber()) {
    ThrowTypeError(info.Env(), "expected (handle, offset, length, flags)");
    return false;
  }
  *value = info[3].As<Napi::Number>().Int32Value();
  return true;
}

// msync(handle, offset, length, flags)
Napi::Value Msync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRange range;
  int flags;
  if (!ReadMappingRange(info, &range) || !ReadIntArgument(info, &flags)) {
    return env.Undefined();
  }
  if (msync(range.start, range.length, flags) != 0) {
    return ThrowErrno(env, errno, "msync");
  }
  return env.Undefined();
}

// madvise(handle, offset, length, advice)
Napi::Value Madvise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRange range;
  int advice;
  if (!ReadMappingRange(info, &range) || !ReadIntArgument(info, &advice)) {
    return env.Undefined();
  }
  int result;
  do {
    result = madvise(range.start, range.length, advice);
  } while (result != 0 && errno == EINTR);
  if (result != 0) return ThrowErrno(env, errno, "madvise");
  return env.Undefined();
}

// mlock(handle, offset, length, flags): mlock2, so MLOCK_ONFAULT works. The
// raw syscall keeps the addon loadable on a glibc without the wrapper.
Napi::Value Mlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRange range;
  int flags;
  if (!ReadMappingRange(info, &range) || !ReadIntArgument(info, &flags)) {
    return env.Undefined();
  }
  if (syscall(SYS_mlock2, range.start, range.length, flags) != 0) {
    return ThrowErrno(env, errno, "mlock2");
  }
  return env.Undefined();
}

// munlock(handle, offset, length)
Napi::Value Munlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRange range;
  if (!ReadMappingRange(info, &range)) return env.Undefined();
  if (munlock(range.start, range.length) != 0) {
    return ThrowErrno(env, errno, "munlock");
  }
  return env.Undefined();
}

// mprotect(handle, offset, length, prot)
Napi::Value Mprotect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRange range;
  int prot;
  if (!ReadMappingRange(info, &range) || !ReadIntArgument(info, &prot)) {
    return env.Undefined();
  }
  if (mprotect(range.start, range.length, prot) != 0) {
    return ThrowErrno(env, errno, "mprotect");
  }
  return env.Undefined();
}

// mincore(handle, offset, length) -> Uint8Array, one 0/1 per page.
Napi::Value Mincore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRange range;
  if (!ReadMappingRange(info, &range)) return env.Undefined();
  size_t page = PageSize();
  size_t pages = (range.length + page - 1) / page;
  Napi::Uint8Array result = Napi::Uint8Array::New(env, pages);
  if (mincore(range.start, range.length, result.Data()) != 0) {
    return ThrowErrno(env, errno, "mincore");
  }
  // The other bits of each byte are reserved: keep only "resident".
  for (size_t i = 0; i < pages; i++) result[i] &= 1;
  return result;
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("msync", Napi::Function::New(env, Msync, "msync"));
  exports.Set("madvise", Napi::Function::New(env, Madvise, "madvise"));
  exports.Set("mlock", Napi::Function::New(env, Mlock, "mlock"));
  exports.Set("munlock", Napi::Function::New(env, Munlock, "munlock"));
  exports.Set("mprotect", Napi::Function::New(env, Mprotect, "mprotect"));
  exports.Set("mincore", Napi::Function::New(env, Mincore, "mincore"));
}

}  // namespace kmmap
