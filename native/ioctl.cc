// A minimal ioctl: the request number and an optional argument buffer whose
// address is passed as the argument. lib/ioctl.ts encodes request numbers
// and decodes the buffer.
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

#include "errors.h"
#include "addon.h"

namespace kmmap {
namespace {

// ioctl(fd, request, arg: Uint8Array | null) -> the ioctl's return value.
Napi::Value Ioctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 3 && info[0].IsNumber() &&
                   info[1].IsNumber() &&
                   (info[2].IsNull() || info[2].IsTypedArray()),
               "ioctl(fd, request, arg)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto request = static_cast<unsigned long>(
      info[1].As<Napi::Number>().Uint32Value());
  // The kernel reads or writes _IOC_SIZE bytes at arg: a shorter buffer
  // would let it scribble over unrelated memory.
  size_t needed = _IOC_DIR(request) == _IOC_NONE ? 0 : _IOC_SIZE(request);
  void* arg = nullptr;
  if (info[2].IsTypedArray()) {
    Napi::TypedArray view = info[2].As<Napi::TypedArray>();
    KMMAP_EXPECT(view.ByteLength() >= needed,
                 "arg is shorter than the request's size");
    arg = static_cast<uint8_t*>(view.ArrayBuffer().Data()) +
          view.ByteOffset();
  } else {
    KMMAP_EXPECT(needed == 0, "this request needs an argument buffer");
  }
  int result;
  do {
    result = ioctl(fd, request, arg);
  } while (result < 0 && errno == EINTR);
  if (result < 0) return ThrowErrno(env, errno, "ioctl");
  return Napi::Number::New(env, result);
}

}  // namespace

void InitIoctl(Napi::Env env, Napi::Object exports) {
  exports.Set("ioctl", Napi::Function::New(env, Ioctl, "ioctl"));
}

}  // namespace kmmap
