// A live mapping as the addon tracks it, shared by mapping.cc (mmap, views,
// munmap, mremap) and memory.cc (msync, madvise, mlock, mprotect, mincore).
//
// JavaScript holds a mapping through a handle (a type-tagged External) and
// sees its memory through views: external ArrayBuffers over parts of it.
// The memory stays mapped while the handle or any view is reachable; the
// last one to be garbage-collected unmaps it. close() (Unmap) detaches every
// view first, so none can touch unmapped memory, and mremap does the same
// for the old range.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <unordered_set>

namespace kmmap {

struct View;

struct LiveMapping {
  uint8_t* base;       // what mmap returned: page-aligned
  size_t length;       // bytes mapped from base (a whole number of pages)
  int owned_fd;        // a memfd that lives and dies with the mapping, or -1
  bool unmapped;       // munmap done (close()); the memory is gone
  size_t holders;      // the handle plus every view not yet finalized
  std::unordered_set<View*> views;  // views that may still be attached
};

// The LiveMapping behind a handle made by map(), or nullptr if `value` is
// not one. Throws nothing.
LiveMapping* LiveMappingOf(Napi::Env env, Napi::Value value);

// Reads info[0..2] as (handle, offset, length): a live mapping and a range
// of it whose offset is page-aligned. lib/ guarantees both; this keeps a
// wrong call from reaching madvise or mprotect with memory that is not the
// mapping's. Returns false with a TypeError pending otherwise.
struct MappingRange {
  LiveMapping* mapping;
  uint8_t* start;
  size_t length;
};
bool ReadMappingRange(const Napi::CallbackInfo& info, MappingRange* range);

// sysconf(_SC_PAGESIZE), read once.
size_t PageSize();

}  // namespace kmmap
