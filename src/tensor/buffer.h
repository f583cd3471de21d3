// Array<T>: a flat buffer of count elements owned by one backend: host memory for the
// CPU backend (a std::vector), device memory for the CUDA backend (device::alloc).
// Allocated once, zero-filled; never resized. Data moves between host and an Array only
// through upload/download, which name the direction; they run on the stream of the
// Context and download() waits for its copy.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/device.h"
#include "src/util/check.h"

namespace dp {

template <typename T>
class Array {
 public:
  Array() = default;
  Array(Backend backend, std::int64_t count) : backend_(backend), count_(count) {
    DP_CHECK(count >= 0, "Array: negative count ", count);
    if (backend_ == Backend::cpu) {
      host_.assign(static_cast<std::size_t>(count), T{});
      data_ = host_.data();
    } else if (count > 0) {
      data_ = static_cast<T*>(device::alloc(nbytes()));
      device::fill_bytes(data_, 0, nbytes(), nullptr);
      device::synchronize(nullptr);
    }
  }
  ~Array() { reset(); }
  Array(Array&& o) noexcept { *this = std::move(o); }
  Array& operator=(Array&& o) noexcept {
    if (this != &o) {
      reset();
      backend_ = o.backend_;
      count_ = o.count_;
      host_ = std::move(o.host_);
      data_ = backend_ == Backend::cpu ? host_.data() : o.data_;
      o.data_ = nullptr;
      o.count_ = 0;
    }
    return *this;
  }
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::int64_t count() const { return count_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(count_) * sizeof(T); }
  Backend backend() const { return backend_; }

  // this[offset, offset + n) = h_src[0, n)
  void upload(const T* h_src, std::int64_t n, const kernels::Context& ctx, std::int64_t offset = 0) {
    DP_CHECK(offset >= 0 && n >= 0 && offset + n <= count_, "Array::upload: [", offset, ", ", offset + n,
             ") outside [0, ", count_, ")");
    if (n == 0) return;
    if (backend_ == Backend::cpu)
      std::memcpy(data_ + offset, h_src, static_cast<std::size_t>(n) * sizeof(T));
    else
      device::copy(data_ + offset, h_src, static_cast<std::size_t>(n) * sizeof(T), ctx.stream);
  }
  void upload(const std::vector<T>& h_src, const kernels::Context& ctx) {
    upload(h_src.data(), static_cast<std::int64_t>(h_src.size()), ctx);
  }
  // h_dst[0, n) = this[offset, offset + n); waits for the copy.
  void download(T* h_dst, std::int64_t n, const kernels::Context& ctx, std::int64_t offset = 0) const {
    DP_CHECK(offset >= 0 && n >= 0 && offset + n <= count_, "Array::download: [", offset, ", ", offset + n,
             ") outside [0, ", count_, ")");
    if (n == 0) return;
    if (backend_ == Backend::cpu) {
      std::memcpy(h_dst, data_ + offset, static_cast<std::size_t>(n) * sizeof(T));
    } else {
      device::copy(h_dst, data_ + offset, static_cast<std::size_t>(n) * sizeof(T), ctx.stream);
      device::synchronize(ctx.stream);
    }
  }
  std::vector<T> to_host(const kernels::Context& ctx) const {
    std::vector<T> out(static_cast<std::size_t>(count_));
    download(out.data(), count_, ctx);
    return out;
  }

 private:
  void reset() noexcept {
    if (backend_ != Backend::cpu) device::release(data_);
    host_.clear();
    data_ = nullptr;
    count_ = 0;
  }

  Backend backend_ = Backend::cpu;
  std::int64_t count_ = 0;
  std::vector<T> host_;
  T* data_ = nullptr;
};

}  // namespace dp
