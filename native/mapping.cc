// mmap/munmap exposed as external ArrayBuffers.
//
// A mapping is handed to JavaScript as an ArrayBuffer over the mapped memory
// itself (zero-copy). Two paths end a mapping, and exactly one of them may
// call munmap:
//   - unmap(): detaches the ArrayBuffer first, so every view of it reads
//     length 0 instead of freed memory, then unmaps;
//   - the ArrayBuffer's finalizer, when it was never unmapped explicitly.
// A process-wide registry of live mappings (keyed by address) decides which
// one runs; it is shared by all threads, since workers have their own
// environments but one address space.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "errors.h"
#include "kmmap.h"

namespace kmmap {
namespace {

struct LiveMapping {
  void* address;
  size_t length;
};

std::mutex registry_mutex;
// Guarded by registry_mutex. Holds every mapping not yet unmapped.
std::unordered_map<uintptr_t, LiveMapping*>& Registry() {
  static auto* registry = new std::unordered_map<uintptr_t, LiveMapping*>();
  return *registry;
}

// Removes the record if it is still live; true if the caller must munmap.
bool TakeFromRegistry(LiveMapping* mapping) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = Registry().find(reinterpret_cast<uintptr_t>(mapping->address));
  if (it == Registry().end() || it->second != mapping) return false;
  Registry().erase(it);
  return true;
}

void FinalizeMapping(napi_env, void*, void* hint) {
  auto* mapping = static_cast<LiveMapping*>(hint);
  if (TakeFromRegistry(mapping)) munmap(mapping->address, mapping->length);
  delete mapping;
}

// map(fd, length, offset: bigint, prot, flags) -> ArrayBuffer
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 5 && info[0].IsNumber() &&
                   info[1].IsNumber() && info[2].IsBigInt() &&
                   info[3].IsNumber() && info[4].IsNumber(),
               "map(fd, length, offset, prot, flags)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  double length = info[1].As<Napi::Number>().DoubleValue();
  bool lossless = false;
  int64_t offset = info[2].As<Napi::BigInt>().Int64Value(&lossless);
  KMMAP_EXPECT(lossless && offset >= 0, "offset must fit in off_t");
  KMMAP_EXPECT(length >= 1 && length <= 9007199254740991.0,
               "length must be a positive safe integer");
  int prot = info[3].As<Napi::Number>().Int32Value();
  int flags = info[4].As<Napi::Number>().Int32Value();

  size_t size = static_cast<size_t>(length);
  void* address = mmap(nullptr, size, prot, flags, fd, offset);
  if (address == MAP_FAILED) return ThrowErrno(env, errno, "mmap");

  auto* mapping = new LiveMapping{address, size};
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    Registry()[reinterpret_cast<uintptr_t>(address)] = mapping;
  }

  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(
      env, address, size, FinalizeMapping, mapping, &buffer);
  if (status != napi_ok) {
    // Never hand out a half-made object, and never fall back to a copy.
    TakeFromRegistry(mapping);
    munmap(address, size);
    delete mapping;
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (status == napi_no_external_buffers_allowed) {
      return ThrowCoded(env, "ERR_KMMAP_EXTERNAL_BUFFERS_FORBIDDEN",
                        "This JavaScript runtime forbids external buffers "
                        "(V8 sandbox), so memory cannot be mapped zero-copy");
    }
    return ThrowCoded(env, "ERR_KMMAP_ARRAYBUFFER",
                      "Could not wrap the mapping in an ArrayBuffer");
  }
  return Napi::Value(env, buffer);
}

// unmap(arrayBuffer) -> true if it unmapped, false if already detached.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 1 && info[0].IsArrayBuffer(),
               "unmap(arrayBuffer)");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) return Napi::Boolean::New(env, false);

  uintptr_t key = reinterpret_cast<uintptr_t>(buffer.Data());
  LiveMapping* mapping = nullptr;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = Registry().find(key);
    if (it != Registry().end()) {
      mapping = it->second;
      Registry().erase(it);
    }
  }
  if (mapping == nullptr) {
    return ThrowCoded(env, "ERR_KMMAP_NOT_A_MAPPING",
                      "This ArrayBuffer was not made by kmmap's map()");
  }

  // Detach before munmap: no view may ever see unmapped memory. The
  // finalizer, which may now run at any time, finds no registry entry and
  // only frees the record.
  buffer.Detach();
  if (env.IsExceptionPending()) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    Registry()[key] = mapping;
    return env.Undefined();
  }
  if (munmap(mapping->address, mapping->length) != 0) {
    return ThrowErrno(env, errno, "munmap");
  }
  return Napi::Boolean::New(env, true);
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

}  // namespace

void InitMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("map", Napi::Function::New(env, Map, "map"));
  exports.Set("unmap", Napi::Function::New(env, Unmap, "unmap"));
  exports.Set("addressOf", Napi::Function::New(env, AddressOf, "addressOf"));
  exports.Set("pageSize", Napi::Number::New(env, sysconf(_SC_PAGESIZE)));
}

}  // namespace kmmap
