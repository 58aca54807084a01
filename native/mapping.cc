// mmap, munmap and mremap, with the memory exposed as external ArrayBuffers.
//
// A mapping is a LiveMapping (live_mapping.h) held by a handle; its memory is
// seen through views, zero-copy. Two paths end a mapping, and exactly one of
// them calls munmap:
//   - unmap() (close()): detaches every view first, so each reads length 0
//     instead of freed memory, then unmaps;
//   - the garbage collector, once the handle and every view are gone.
// A mapping belongs to the thread (environment) that made it; each worker
// makes its own, and its teardown finalizes them.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "errors.h"
#include "kmmap.h"
#include "live_mapping.h"

namespace kmmap {

struct View {
  LiveMapping* mapping;
  napi_ref ref;  // weak: the view may be collected while the mapping lives
};

namespace {

// Tells a handle made here from any other External.
const napi_type_tag kHandleTag = {0x6b6d6d6170686e64ULL, 0x4c6976654d617070ULL};

// Returns munmap's errno, or 0. Either way the mapping counts as gone: its
// views are detached and nothing may reach the range again.
int UnmapMemory(LiveMapping* mapping) {
  int err = munmap(mapping->base, mapping->length) == 0 ? 0 : errno;
  if (mapping->owned_fd >= 0) close(mapping->owned_fd);
  mapping->owned_fd = -1;
  mapping->unmapped = true;
  return err;
}

void Release(LiveMapping* mapping) {
  if (--mapping->holders > 0) return;
  if (!mapping->unmapped) UnmapMemory(mapping);
  delete mapping;
}

void FinalizeHandle(napi_env, void* data, void*) {
  Release(static_cast<LiveMapping*>(data));
}

void FinalizeView(napi_env env, void*, void* hint) {
  auto* view = static_cast<View*>(hint);
  view->mapping->views.erase(view);
  if (view->ref != nullptr) napi_delete_reference(env, view->ref);
  Release(view->mapping);
  delete view;
}

// Detaches every view still attached: afterwards none reaches the memory.
// Returns false with an exception pending if V8 refused a detach.
bool DetachViews(Napi::Env env, LiveMapping* mapping) {
  for (View* view : mapping->views) {
    napi_value value = nullptr;
    if (napi_get_reference_value(env, view->ref, &value) != napi_ok ||
        value == nullptr) {
      continue;  // already collected; its finalizer only does bookkeeping
    }
    Napi::ArrayBuffer buffer(env, value);
    if (!buffer.IsDetached()) buffer.Detach();
    if (env.IsExceptionPending()) return false;
  }
  return true;
}

Napi::Value NewView(Napi::Env env, LiveMapping* mapping, size_t offset,
                    size_t length) {
  auto* view = new View{mapping, nullptr};
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(
      env, mapping->base + offset, length, FinalizeView, view, &buffer);
  if (status != napi_ok) {
    // Never hand out a half-made object, and never fall back to a copy.
    delete view;
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (status == napi_no_external_buffers_allowed) {
      return ThrowCoded(env, "ERR_KMMAP_EXTERNAL_BUFFERS_FORBIDDEN",
                        "This JavaScript runtime forbids external buffers "
                        "(V8 sandbox), so memory cannot be mapped zero-copy");
    }
    return ThrowCoded(env, "ERR_KMMAP_ARRAYBUFFER",
                      "Could not wrap the mapping in an ArrayBuffer");
  }
  // From here the view's finalizer owns `view` and releases its hold.
  mapping->holders++;
  if (napi_create_reference(env, buffer, 0, &view->ref) != napi_ok) {
    // unmap() could not find it to detach it: never hand it out.
    view->ref = nullptr;
    napi_detach_arraybuffer(env, buffer);
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    return ThrowCoded(env, "ERR_KMMAP_ARRAYBUFFER",
                      "Could not track a view of the mapping");
  }
  mapping->views.insert(view);
  return Napi::Value(env, buffer);
}

// map(fd, length, offset: bigint, prot, flags, ownedFd) -> handle.
// fd is -1 for MAP_ANONYMOUS. ownedFd (or -1) is closed with the mapping,
// but only once this call succeeded.
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 6 && info[0].IsNumber() &&
                   info[1].IsNumber() && info[2].IsBigInt() &&
                   info[3].IsNumber() && info[4].IsNumber() &&
                   info[5].IsNumber(),
               "map(fd, length, offset, prot, flags, ownedFd)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  double length = info[1].As<Napi::Number>().DoubleValue();
  bool lossless = false;
  int64_t offset = info[2].As<Napi::BigInt>().Int64Value(&lossless);
  KMMAP_EXPECT(lossless && offset >= 0, "offset must fit in off_t");
  KMMAP_EXPECT(length >= 1 && length <= 9007199254740991.0,
               "length must be a positive safe integer");
  int prot = info[3].As<Napi::Number>().Int32Value();
  int flags = info[4].As<Napi::Number>().Int32Value();
  int owned_fd = info[5].As<Napi::Number>().Int32Value();

  size_t size = static_cast<size_t>(length);
  void* address = mmap(nullptr, size, prot, flags, fd, offset);
  if (address == MAP_FAILED) return ThrowErrno(env, errno, "mmap");

  size_t page = PageSize();
  auto* mapping = new LiveMapping{static_cast<uint8_t*>(address),
                                  (size + page - 1) / page * page,
                                  owned_fd, false, 1, {}};
  napi_value handle;
  if (napi_create_external(env, mapping, FinalizeHandle, nullptr, &handle) !=
          napi_ok ||
      napi_type_tag_object(env, handle, &kHandleTag) != napi_ok) {
    munmap(address, size);
    delete mapping;
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    return ThrowCoded(env, "ERR_KMMAP_HANDLE",
                      "Could not make a mapping handle");
  }
  return Napi::Value(env, handle);
}

// base(handle) -> bigint address of the first mapped (page-aligned) byte.
Napi::Value Base(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LiveMapping* mapping =
      info.Length() == 1 ? LiveMappingOf(env, info[0]) : nullptr;
  KMMAP_EXPECT(mapping != nullptr, "base(handle)");
  return Napi::BigInt::New(
      env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(mapping->base)));
}

// view(handle, offset, length) -> ArrayBuffer over [base + offset, + length).
Napi::Value ViewOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 3 && info[1].IsNumber() && info[2].IsNumber(),
               "view(handle, offset, length)");
  LiveMapping* mapping = LiveMappingOf(env, info[0]);
  KMMAP_EXPECT(mapping != nullptr, "view(handle, offset, length)");
  KMMAP_EXPECT(!mapping->unmapped, "the mapping is closed");
  double offset = info[1].As<Napi::Number>().DoubleValue();
  double length = info[2].As<Napi::Number>().DoubleValue();
  KMMAP_EXPECT(offset >= 0 && length >= 0 &&
                   offset + length <= static_cast<double>(mapping->length),
               "view outside the mapping");
  return NewView(env, mapping, static_cast<size_t>(offset),
                 static_cast<size_t>(length));
}

// unmap(handle) -> true if it unmapped, false if it was already closed.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LiveMapping* mapping =
      info.Length() == 1 ? LiveMappingOf(env, info[0]) : nullptr;
  KMMAP_EXPECT(mapping != nullptr, "unmap(handle)");
  if (mapping->unmapped) return Napi::Boolean::New(env, false);
  // Detach before munmap: no view may ever see unmapped memory.
  if (!DetachViews(env, mapping)) return env.Undefined();
  int err = UnmapMemory(mapping);
  if (err != 0) return ThrowErrno(env, err, "munmap");
  return Napi::Boolean::New(env, true);
}

// remap(handle, newLength) -> bigint new base. mremap(MREMAP_MAYMOVE): on
// success every old view is detached (the memory may have moved); on
// failure nothing changed.
Napi::Value Remap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 2 && info[1].IsNumber(),
               "remap(handle, newLength)");
  LiveMapping* mapping = LiveMappingOf(env, info[0]);
  KMMAP_EXPECT(mapping != nullptr, "remap(handle, newLength)");
  KMMAP_EXPECT(!mapping->unmapped, "the mapping is closed");
  double length = info[1].As<Napi::Number>().DoubleValue();
  KMMAP_EXPECT(length >= 1 && length <= 9007199254740991.0,
               "newLength must be a positive safe integer");
  size_t page = PageSize();
  size_t size = (static_cast<size_t>(length) + page - 1) / page * page;
  void* moved = mremap(mapping->base, mapping->length, size, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) return ThrowErrno(env, errno, "mremap");
  // No JavaScript ran since mremap, so no view has touched the old range.
  mapping->base = static_cast<uint8_t*>(moved);
  mapping->length = size;
  if (!DetachViews(env, mapping)) return env.Undefined();
  return Napi::BigInt::New(
      env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(moved)));
}

// memfdCreate(name, flags) -> fd. Node has no memfd_create.
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 2 && info[0].IsString() && info[1].IsNumber(),
               "memfdCreate(name, flags)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  unsigned int flags = info[1].As<Napi::Number>().Uint32Value();
  // The syscall, not glibc's wrapper, so the addon loads on older glibc.
  long fd = syscall(SYS_memfd_create, name.c_str(), flags);
  if (fd < 0) return ThrowErrno(env, errno, "memfd_create");
  return Napi::Number::New(env, static_cast<double>(fd));
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

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

LiveMapping* LiveMappingOf(Napi::Env env, Napi::Value value) {
  if (value.IsEmpty() || !value.IsExternal()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &kHandleTag, &tagged) != napi_ok ||
      !tagged) {
    return nullptr;
  }
  return value.As<Napi::External<LiveMapping>>().Data();
}

bool ReadMappingRange(const Napi::CallbackInfo& info, MappingRange* range) {
  Napi::Env env = info.Env();
  LiveMapping* mapping =
      info.Length() >= 3 ? LiveMappingOf(env, info[0]) : nullptr;
  const char* problem = nullptr;
  if (mapping == nullptr || !info[1].IsNumber() || !info[2].IsNumber()) {
    problem = "expected (handle, offset, length, ...)";
  } else if (mapping->unmapped) {
    problem = "the mapping is closed";
  } else {
    double offset = info[1].As<Napi::Number>().DoubleValue();
    double length = info[2].As<Napi::Number>().DoubleValue();
    if (!(offset >= 0 && length >= 1 &&
          offset + length <= static_cast<double>(mapping->length)) ||
        static_cast<size_t>(offset) % PageSize() != 0) {
      problem = "expected a page-aligned range inside the mapping";
    } else {
      *range = {mapping, mapping->base + static_cast<size_t>(offset),
                static_cast<size_t>(length)};
      return true;
    }
  }
  ThrowTypeError(env, problem);
  return false;
}

// fstat(fd, out: BigUint64Array(4)) fills [st_mode, st_size, st_dev,
// st_ino]: all map() needs, without the Date objects of fs.fstatSync's
// BigIntStats (a tenth of a small map()'s time).
Napi::Value Fstat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 2 && info[0].IsNumber() &&
                   info[1].IsTypedArray() &&
                   info[1].As<Napi::TypedArray>().TypedArrayType() ==
                       napi_biguint64_array &&
                   info[1].As<Napi::TypedArray>().ElementLength() == 4,
               "fstat(fd, BigUint64Array(4))");
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct stat st;
  if (fstat(fd, &st) != 0) return ThrowErrno(env, errno, "fstat");
  auto out = info[1].As<Napi::BigUint64Array>();
  out[0] = st.st_mode;
  out[1] = static_cast<uint64_t>(st.st_size);
  out[2] = st.st_dev;
  out[3] = st.st_ino;
  return env.Undefined();
}

void InitMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("fstat", Napi::Function::New(env, Fstat, "fstat"));
  exports.Set("map", Napi::Function::New(env, Map, "map"));
  exports.Set("base", Napi::Function::New(env, Base, "base"));
  exports.Set("view", Napi::Function::New(env, ViewOf, "view"));
  exports.Set("unmap", Napi::Function::New(env, Unmap, "unmap"));
  exports.Set("remap", Napi::Function::New(env, Remap, "remap"));
  exports.Set("memfdCreate",
              Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("addressOf", Napi::Function::New(env, AddressOf, "addressOf"));
  exports.Set("pageSize",
              Napi::Number::New(env, static_cast<double>(PageSize())));
}

}  // namespace kmmap
