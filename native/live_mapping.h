// A live mapping as the addon tracks it, shared by mapping.cc (mmap, views,
// close, mremap) and memory.cc (msync, madvise, mlock, mprotect, mincore).
//
// JavaScript holds a mapping through a handle (a type-tagged External) and
// sees its memory through views: external ArrayBuffers over parts of it.
// Native code (Node's own C++, a thread-pool job, an ArrayBuffer moved out
// by transfer()) may hold a raw pointer into a view that no detach can take
// back, so kmmap never munmaps an address range while any view made over it
// may still be reachable:
//   - a Range is an address range kmmap reserved. It counts `pending` views:
//     those whose ArrayBuffer object has not been collected yet or whose
//     memory (V8 backing store, which transfer() moves to a new object) has
//     not been freed yet. Only when both are gone for every view can no
//     pointer into the range exist.
//   - close() detaches every view (and refuses, changing nothing, if the
//     runtime leaves one attached: Bun while an async call holds it), then,
//     if views are pending, atomically
//     replaces the memory with private anonymous memory (mmap MAP_FIXED): a
//     late reader sees zeros, a late writer writes into memory that never
//     reaches the file. The Range is retired, and munmapped when its last
//     view is gone (queued by the finalizer and munmapped with its
//     neighbours on the next turn: mapping.cc, "Releasing ranges in
//     batches").
//   - resize() keeps the old range's pages where they are for pending views
//     (growing in place, or mapping the pages again elsewhere and retiring
//     the old range the same way; shrinking replaces only the tail). Where
//     the kernel cannot map private pages a second time (MREMAP_DONTUNMAP:
//     before 5.7, file pages before 5.13, some vendor kernels), the new
//     range is mmap()ed afresh and the pages the process changed are copied
//     into it before the old range is replaced, never unmapped.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace kmmap {

struct View;
struct LiveMapping;

struct Range {
  uint8_t* base;        // page-aligned
  size_t reserved;      // bytes from base that kmmap holds (munmap at release)
  size_t pending;       // views over it not yet finished (see above)
  LiveMapping* owner;   // the mapping it belongs to, nullptr once retired
  Range* next_released; // in its thread's queue of ranges to munmap
};

struct LiveMapping {
  Range* range;         // its memory; nullptr once closed
  size_t length;        // bytes mapped from range->base (whole pages)
  int owned_fd;         // a memfd that lives and dies with the mapping, or -1
  int map_flags;        // the mmap flags it was made with (resize may map again)
  int64_t map_offset;   // the file offset of its first page
  bool shared;          // MAP_SHARED: mremap can map its pages a second time
  bool closed;          // close() done: no call may reach the range again
  bool handle_alive;    // the handle has not been finalized
  // Views that may still be attached, linked through View::prev and next:
  // a list in the View itself, because a set would cost two allocations
  // per mapping on map()'s hot path.
  View* views;
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

// Whether kmmap may own one more fd (a memfd made for a mapping): false,
// with ERR_KMMAP_TOO_MANY_MAPPINGS pending, when its budget is spent.
bool CheckOwnedFdBudget(Napi::Env env);

// sysconf(_SC_PAGESIZE), read once.
size_t PageSize();
// length rounded up to whole pages, the kernel's unit for a mapping's books.
size_t RoundUpToPages(size_t length);

}  // namespace kmmap
