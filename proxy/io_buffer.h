// Fixed-size I/O buffers recycled through a per-worker pool, so an idle connection holds none.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace tandem::proxy {

struct IoBuffer {
  static constexpr uint32_t kCapacity = 16384;  // also the request head limit (HAProxy's bufsize)

  uint32_t head = 0;  // first unconsumed byte
  uint32_t tail = 0;  // end of data
  char bytes[kCapacity];

  char* begin() { return bytes + head; }
  char* end() { return bytes + tail; }
  uint32_t size() const { return tail - head; }
  uint32_t space() const { return kCapacity - tail; }
  bool empty() const { return head == tail; }
  void produced(size_t n) { tail += static_cast<uint32_t>(n); }
  void consume(size_t n) {
    head += static_cast<uint32_t>(n);
    if (head == tail) head = tail = 0;
  }
  // Moves unconsumed bytes to the front so a new message head starts at offset 0.
  void compact() {
    if (head == 0) return;
    std::memmove(bytes, bytes + head, size());
    tail -= head;
    head = 0;
  }
};

using IoBufferPtr = std::unique_ptr<IoBuffer>;

class BufferPool {
 public:
  explicit BufferPool(size_t maxCached = 256) : maxCached_(maxCached) {}
  IoBufferPtr acquire() {
    if (free_.empty()) return std::make_unique<IoBuffer>();
    IoBufferPtr b = std::move(free_.back());
    free_.pop_back();
    b->head = b->tail = 0;
    return b;
  }
  void release(IoBufferPtr& b) {
    if (!b) return;
    if (free_.size() < maxCached_) free_.push_back(std::move(b));
    b.reset();
  }

 private:
  size_t maxCached_;
  std::vector<IoBufferPtr> free_;
};

}  // namespace tandem::proxy
