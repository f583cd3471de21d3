#include "src/util/hash.h"

namespace dp {

std::uint64_t hash64(const void* data, std::size_t nbytes, std::uint64_t seed) {
  // Eight bytes per round keeps this cheap for ~1e7 params; not cryptographic.
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::uint64_t h = seed;
  constexpr std::uint64_t prime = 0x100000001B3ull;
  std::size_t i = 0;
  for (; i + 8 <= nbytes; i += 8) {
    std::uint64_t word = 0;
    for (int b = 0; b < 8; ++b) word |= static_cast<std::uint64_t>(bytes[i + b]) << (8 * b);
    h = (h ^ word) * prime;
  }
  for (; i < nbytes; ++i) h = (h ^ bytes[i]) * prime;
  return h;
}

}  // namespace dp
