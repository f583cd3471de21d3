// 64-bit hash over raw bytes (FNV-1a mixing applied to 64-bit little-endian words): used to compare parameter
// buffers across ranks. Replicas must be bit-identical, so a byte hash (not a tolerance) is the right test.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dp {

std::uint64_t hash64(const void* data, std::size_t nbytes, std::uint64_t seed = 0xCBF29CE484222325ull);

}  // namespace dp
