// fuzz_parsers: a deterministic, bounded mutation fuzzer for every file parser.
//
// For each format (the table in make_formats(): idx, idx.gz, npy, safetensors, checkpoint,
// config)
// it takes small valid files built in code (the seeds), mutates them (bit flips, byte
// overwrites, truncation, appended garbage, duplicated or deleted chunks, huge integers
// at random places, and format-aware header mutations: IDX dimensions, NPY
// shape/header_len/descr, safetensors header length, shape and data_offsets, gzip
// trailers and flags, checkpoint header fields with the CRC repaired), parses the result
// from memory and uses what a parser accepts the way the readers' callers do. Every input
// must either be accepted with a self-consistent result or be refused with dp::UserError
// naming the file. Anything else fails the run: another exception type, an accepted
// result whose element count does not match its bytes, or (in the ASan+UBSan build) any
// sanitizer report, including an allocation above max_allocation_size_mb (a header field
// trusted for a size).
//
//   fuzz_parsers [--iterations N] [--seed S] [--format NAME] [--replay I] [--out-dir DIR]
//
// Input i uses Rng(mix_seed(S, i)) only, so `--seed S --replay I` (with the same --format,
// if one was given) rebuilds and re-parses exactly a failing input. A failing input is
// written to DIR/fuzz-failure-<format>-<i>.bin (also when a sanitizer aborts the
// process). See tests/fuzz/README.md.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/cli.h"
#include "src/cli_errors.h"
#include "src/data/file_bytes.h"
#include "src/data/idx.h"
#include "src/data/npy.h"
#include "src/tensor/layout.h"
#include "src/train/checkpoint.h"
#include "src/train/safetensors.h"
#include "src/util/check.h"
#include "src/util/rng.h"
#include "tests/data/data_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define DPTRAIN_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DPTRAIN_FUZZ_ASAN 1
#endif
#endif

#if defined(DPTRAIN_FUZZ_ASAN)
#include <sanitizer/common_interface_defs.h>
// Built-in defaults (ASAN_OPTIONS from the environment still override them): inputs are
// a few KiB, so no parser has a reason to allocate 256 MiB; such a request is a header
// field trusted for a size, and ASan reports it as allocation-size-too-big and aborts.
extern "C" const char* __asan_default_options() {
  return "max_allocation_size_mb=256:allocator_may_return_null=0:detect_leaks=1";
}
// abort_on_error: UBSan then raises SIGABRT, whose handler below names the input (GCC
// links a separate UBSan runtime that ignores __sanitizer_set_death_callback).
extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1:abort_on_error=1";
}
#else
#include <sys/resource.h>
#endif

namespace {

using dp::Rng;
using dp::test::Bytes;
using ojson = nlohmann::ordered_json;

// An accepted input whose result breaks an invariant the callers rely on.
class FuzzFailure : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

constexpr std::size_t kMaxInputBytes = 64 * 1024;  // mutations never grow an input beyond this

// ---- the format table ----------------------------------------------------------

struct Format {
  std::string name;
  std::string path;          // the name the parser puts in its messages
  std::vector<Bytes> seeds;  // valid files; each must be accepted unmutated
  // Parses from memory and consumes the result as the callers do; throws dp::UserError
  // on bad input, FuzzFailure on an inconsistent result.
  std::function<void(const Bytes&, const std::string& path)> parse;
  // Format-aware mutation of the header fields (sizes, counts, offsets, types).
  std::function<void(Bytes*, Rng*)> mutate_header;
  // Optional, applied to most mutated inputs: repairs a checksum so that the mutation
  // reaches the fields behind it (a checkpoint's CRC-32); empty for the other formats.
  std::function<void(Bytes*)> fixup;
};

// ---- byte helpers ----------------------------------------------------------------

// Boundary values for sizes, counts and offsets (each also tried +-1).
const std::uint64_t kInteresting[] = {0,
                                      1,
                                      2,
                                      0x7F,
                                      0x80,
                                      0xFF,
                                      0x100,
                                      0x7FFF,
                                      0x8000,
                                      0xFFFF,
                                      0x10000,
                                      0x7FFFFFFF,
                                      0x80000000,
                                      0xFFFFFFFF,
                                      0x100000000ull,
                                      0x20000000000000ull /* 2^53 */,
                                      0x4000000000000000ull,
                                      0x7FFFFFFFFFFFFFFFull,
                                      0x8000000000000000ull,
                                      0xFFFFFFFFFFFFFFFFull};

std::uint64_t interesting(Rng* r) {
  const std::uint64_t v = kInteresting[r->uniform_index(std::size(kInteresting))];
  switch (r->uniform_index(4)) {
    case 0:
      return v - 1;
    case 1:
      return v + 1;
    default:
      return v;
  }
}

void put_int(Bytes* b, std::size_t pos, std::uint64_t v, int nbytes, bool big_endian) {
  for (int i = 0; i < nbytes && pos + static_cast<std::size_t>(i) < b->size(); ++i) {
    const int shift = 8 * (big_endian ? nbytes - 1 - i : i);
    (*b)[pos + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> shift);
  }
}

std::uint64_t get_int(const Bytes& b, std::size_t pos, int nbytes, bool big_endian) {
  std::uint64_t v = 0;
  for (int i = 0; i < nbytes; ++i) {
    const std::size_t at = pos + static_cast<std::size_t>(big_endian ? i : nbytes - 1 - i);
    v = (v << 8) | (at < b.size() ? b[at] : 0);
  }
  return v;
}

// A checkpoint ends in a CRC-32 (zlib) of everything after the 8-byte magic; recomputing
// it lets mutations of the header reach the checks behind the CRC.
void fix_trailing_crc32(Bytes* b) {
  if (b->size() < 12) return;
  const uLong crc = crc32(0L, b->data() + 8, static_cast<uInt>(b->size() - 12));
  put_int(b, b->size() - 4, crc, 4, /*big_endian=*/false);
}

// ---- generic mutations -------------------------------------------------------------

std::string mutate_generic(Bytes* b, Rng* r) {
  auto idx = [&](std::size_t n) { return static_cast<std::size_t>(r->uniform_index(n)); };
  switch (r->uniform_index(b->empty() ? 1 : 7)) {
    case 0: {  // append garbage (the only operation on an empty input)
      const std::size_t n = 1 + idx(64);
      for (std::size_t i = 0; i < n; ++i) b->push_back(static_cast<std::uint8_t>(r->next_u64()));
      return "append";
    }
    case 1: {  // flip 1..8 random bits
      const std::size_t k = 1 + idx(8);
      for (std::size_t i = 0; i < k; ++i) (*b)[idx(b->size())] ^= static_cast<std::uint8_t>(1u << idx(8));
      return "bitflip";
    }
    case 2: {  // overwrite 1..8 bytes with random or boundary values
      const std::size_t k = 1 + idx(8);
      static const std::uint8_t edge[] = {0x00, 0x01, 0x7F, 0x80, 0xFF, '0', '9', '(', ')', ',', '{', '"'};
      for (std::size_t i = 0; i < k; ++i)
        (*b)[idx(b->size())] =
            r->uniform_index(2) ? static_cast<std::uint8_t>(r->next_u64()) : edge[idx(sizeof edge)];
      return "overwrite";
    }
    case 3:  // truncate at a random point
      b->resize(idx(b->size()));
      return "truncate";
    case 4: {  // duplicate a chunk somewhere
      const std::size_t from = idx(b->size());
      const std::size_t len = 1 + idx(std::min<std::size_t>(b->size() - from, 256));
      const Bytes chunk(b->begin() + static_cast<std::ptrdiff_t>(from),
                        b->begin() + static_cast<std::ptrdiff_t>(from + len));
      b->insert(b->begin() + static_cast<std::ptrdiff_t>(idx(b->size() + 1)), chunk.begin(), chunk.end());
      return "duplicate";
    }
    case 5: {  // delete a chunk
      const std::size_t from = idx(b->size());
      const std::size_t len = 1 + idx(std::min<std::size_t>(b->size() - from, 64));
      b->erase(b->begin() + static_cast<std::ptrdiff_t>(from),
               b->begin() + static_cast<std::ptrdiff_t>(from + len));
      return "delete";
    }
    default: {  // a huge/boundary integer at a random place, biased to the header
      const int widths[] = {1, 2, 4, 8};
      const int w = widths[idx(4)];
      const std::size_t span = r->uniform_index(2) ? std::min<std::size_t>(b->size(), 64) : b->size();
      put_int(b, idx(span), interesting(r), w, r->uniform_index(2) != 0);
      return "int" + std::to_string(8 * w);
    }
  }
}

// ---- IDX -----------------------------------------------------------------------------

Bytes idx_file(std::uint8_t type, const std::vector<std::uint32_t>& dims, Rng* r) {
  Bytes b = dp::test::idx_header(type, dims);
  std::size_t n = static_cast<std::size_t>(dp::idx_type_nbytes(type));
  for (auto d : dims) n *= d;
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(r->next_u64()));
  return b;
}

std::vector<Bytes> idx_seeds() {
  Rng r(1);
  return {idx_file(0x08, {3, 4, 5}, &r),      // uint8 images
          idx_file(0x08, {7}, &r),            // uint8 labels
          idx_file(0x09, {2, 3}, &r),         // int8
          idx_file(0x0B, {3, 2}, &r),         // int16
          idx_file(0x0C, {4}, &r),            // int32
          idx_file(0x0D, {2, 2}, &r),         // float32
          idx_file(0x0E, {3}, &r),            // float64
          idx_file(0x08, {2, 1, 2, 3}, &r)};  // 4-D
}

void consume_idx(const dp::IdxArray& a) {
  const int elem = dp::idx_type_nbytes(a.type);
  if (elem == 0 || a.dims.empty()) throw FuzzFailure("accepted IDX with an unknown type or no dimensions");
  const std::int64_t n = a.count();
  if (n <= 0 || static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(elem) != a.payload.size())
    throw FuzzFailure(dp::concat("accepted IDX with ", n, " elements of ", elem, " bytes but ",
                                 a.payload.size(), " payload bytes"));
  volatile double sink = 0;
  for (std::int64_t i = 0; i < n; ++i) sink = sink + a.at(i);
}

void mutate_idx_header(Bytes* b, Rng* r) {
  if (b->size() < 4) return;
  const std::size_t ndims = (*b)[3];
  switch (r->uniform_index(4)) {
    case 0:
    case 1: {  // a dimension (big-endian u32) set to a boundary value
      const std::size_t d = ndims ? r->uniform_index(ndims) : 0;
      put_int(b, 4 + 4 * d, interesting(r), 4, /*big_endian=*/true);
      break;
    }
    case 2:  // the number of dimensions
      (*b)[3] = static_cast<std::uint8_t>(r->uniform_index(2) ? interesting(r) : r->uniform_index(8));
      break;
    default: {  // the type byte: another valid type (sizes no longer match) or anything
      static const std::uint8_t types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF};
      (*b)[2] = types[r->uniform_index(sizeof types)];
      break;
    }
  }
}

// ---- gzip-compressed IDX ---------------------------------------------------------------

std::vector<Bytes> gzip_seeds() {
  std::vector<Bytes> out;
  for (const Bytes& s : idx_seeds()) out.push_back(dp::test::gzip_bytes(s));
  // Two members, as `gzip -c a b > c` makes (one IDX file split across them).
  const Bytes whole = idx_seeds()[0];
  const Bytes head(whole.begin(), whole.begin() + 20), tail(whole.begin() + 20, whole.end());
  Bytes two = dp::test::gzip_bytes(head);
  const Bytes second = dp::test::gzip_bytes(tail);
  two.insert(two.end(), second.begin(), second.end());
  out.push_back(two);
  return out;
}

void mutate_gzip_header(Bytes* b, Rng* r) {
  switch (r->uniform_index(5)) {
    case 0:
    case 1: {  // the IDX inside, mutated and recompressed: reaches the IDX parser via gzip
      Bytes inner;
      try {
        inner = dp::inflate_gzip(*b, "seed.gz", std::size_t{1} << 20);
      } catch (const dp::UserError&) {
        return;  // an earlier stacked mutation broke the stream; leave it so
      }
      if (r->uniform_index(2))
        mutate_idx_header(&inner, r);
      else
        mutate_generic(&inner, r);
      *b = dp::test::gzip_bytes(inner);
      break;
    }
    case 2:  // ISIZE (last 4 bytes, little-endian): the claimed uncompressed size
      if (b->size() >= 4) put_int(b, b->size() - 4, interesting(r), 4, false);
      break;
    case 3:  // FLG (byte 3): FTEXT/FHCRC/FEXTRA/FNAME/FCOMMENT and reserved bits
      if (b->size() >= 4) (*b)[3] = static_cast<std::uint8_t>(r->next_u64());
      break;
    default: {  // trailing data: zeros (tar-style padding) or another magic
      const std::size_t n = 1 + r->uniform_index(16);
      const bool magic = r->uniform_index(2) != 0;
      for (std::size_t i = 0; i < n; ++i) b->push_back(magic ? (i % 2 ? 0x8b : 0x1f) : 0);
      break;
    }
  }
}

// ---- NPY -------------------------------------------------------------------------------

// numpy's layout: magic, version, little-endian header length (2 bytes in v1, 4 in v2/v3),
// the dict padded with spaces and a '\n' to a multiple of 64 bytes, then the data.
Bytes npy_file(int major, std::string dict, const Bytes& data) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  const std::size_t total = prefix + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  for (std::size_t i = 0; i < prefix - 8; ++i) b.push_back(static_cast<std::uint8_t>(dict.size() >> (8 * i)));
  b.insert(b.end(), dict.begin(), dict.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes random_bytes(std::size_t n, Rng* r) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(r->next_u64());
  return b;
}

std::vector<Bytes> npy_seeds() {
  Rng r(2);
  auto dict = [](const std::string& descr, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  };
  return {
      npy_file(1, dict("<f4", "(2, 3)"), random_bytes(24, &r)),
      npy_file(1, dict("<i8", "(5,)"), random_bytes(40, &r)),
      npy_file(1, dict("|u1", "(4, 2)"), random_bytes(8, &r)),
      npy_file(1, dict("<u2", "(3,)"), random_bytes(6, &r)),
      npy_file(2, dict("<f8", "(3, 1)"), random_bytes(24, &r)),
      npy_file(3, dict("<i4", "(2, 2)"), random_bytes(16, &r)),
      npy_file(1, dict("<f4", "()"), random_bytes(4, &r)),  // scalar
      npy_file(1, dict("<f4", "(0, 3)"), Bytes{}),          // empty
      npy_file(2, dict("<i8", "(5, 0)"), Bytes{}), npy_file(1, dict("|i1", "(2, 1, 2)"), random_bytes(4, &r)),
      // other writers: double quotes, another key order, no trailing comma
      npy_file(1, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<u4\"}", random_bytes(8, &r))};
}

int npy_elem(const std::string& descr) {
  if (descr.size() != 3) return 0;
  return descr[2] - '0';
}

void consume_npy(const dp::NpyArray& a) {
  const int elem = npy_elem(a.descr);
  if (elem <= 0 || (!a.is_float() && !a.is_integer()))
    throw FuzzFailure("accepted NPY with dtype '" + a.descr + "'");
  const std::int64_t n = a.count();  // UBSan: the product of the shape must not overflow
  if (n < 0 || static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(elem) != a.data.size())
    throw FuzzFailure(dp::concat("accepted NPY with ", n, " elements of ", elem, " bytes but ", a.data.size(),
                                 " data bytes"));
  volatile double sink = 0;
  for (std::int64_t i = 0; i < n; ++i) sink = sink + a.at(i);
}

void mutate_npy_header(Bytes* b, Rng* r) {
  if (b->size() < 12) return;
  const int major = (*b)[6];
  const std::size_t prefix = major == 1 ? 10 : 12;
  const int len_nbytes = major == 1 ? 2 : 4;
  switch (r->uniform_index(6)) {
    case 0:  // header_len: boundary values, including 0xFFFF / 0xFFFFFFFF
      put_int(b, 8, interesting(r), len_nbytes, false);
      return;
    case 1:  // the version byte
      (*b)[6] = static_cast<std::uint8_t>(r->uniform_index(2) ? r->uniform_index(5) : interesting(r));
      return;
    default:
      break;
  }
  // Text mutations of the dict; the header length is then kept consistent (mostly).
  const std::size_t len = get_int(*b, 8, len_nbytes, false);
  if (len > b->size() - prefix) return;
  std::string text(b->begin() + static_cast<std::ptrdiff_t>(prefix),
                   b->begin() + static_cast<std::ptrdiff_t>(prefix + len));
  Bytes data(b->begin() + static_cast<std::ptrdiff_t>(prefix + len), b->end());
  auto replace_value = [&](const std::string& key, char open, char close, const std::string& value) {
    std::size_t k = text.find(key);
    if (k == std::string::npos) return;
    const std::size_t from = text.find(open, k + key.size() + 1);
    const std::size_t to = from == std::string::npos ? std::string::npos : text.find(close, from + 1);
    if (to == std::string::npos) return;
    text.replace(from, to - from + 1, value);
  };
  switch (r->uniform_index(4)) {
    case 0:
    case 1: {  // shape: a tuple of huge / zero / negative / non-numeric dimensions
      static const char* dims[] = {"0",
                                   "1",
                                   "3",
                                   "255",
                                   "4294967295",
                                   "4294967296",
                                   "3037000500",
                                   "4611686018427387904",
                                   "9223372036854775807",
                                   "9223372036854775808",
                                   "18446744073709551615",
                                   "99999999999999999999999",
                                   "-1",
                                   "2L",
                                   "1.5",
                                   "",
                                   "(1,)"};
      std::string t = "(";
      const std::size_t n = r->uniform_index(r->uniform_index(8) ? 5 : 40);
      for (std::size_t i = 0; i < n; ++i) t += std::string(dims[r->uniform_index(std::size(dims))]) + ", ";
      t += ")";
      if (r->uniform_index(4) == 0) {  // zero-size: no data bounds the other dimensions
        static const char* huge[] = {"3037000500", "4294967296", "4611686018427387904",
                                     "9223372036854775807"};
        t = std::string("(") + huge[r->uniform_index(4)] + ", " + huge[r->uniform_index(4)] + ", 0)";
        data.clear();
      }
      replace_value("shape", '(', ')', t);
      if (r->uniform_index(4) == 0) data.clear();  // what a shape with a 0 needs
      break;
    }
    case 2: {  // descr: other dtypes, big-endian, object, empty
      static const char* descrs[] = {"<f4", "<f8",  "|u1", "<i8", "<u8", ">f4", "<f2", "|b1",
                                     "<c8", "<U10", "|O",  "",    "<",   "<f",  "<f44"};
      replace_value("descr", '\'', '\'',
                    std::string("'") + descrs[r->uniform_index(std::size(descrs))] + "'");
      break;
    }
    default: {  // fortran_order / keys
      static const char* edits[][2] = {{"False", "True"},
                                       {"False", "Fals"},
                                       {"'shape'", "'shape_'"},
                                       {"'descr'", "'x'"},
                                       {"}", ""},
                                       {"{", "{'descr': '<f8', "},
                                       {"'", "\""},
                                       {", }", ", 'shape': ()}"},
                                       {"(", "(("}};
      const auto& e = edits[r->uniform_index(std::size(edits))];
      const std::size_t k = text.find(e[0]);
      if (k != std::string::npos) text.replace(k, std::strlen(e[0]), e[1]);
      break;
    }
  }
  Bytes out(b->begin(), b->begin() + static_cast<std::ptrdiff_t>(prefix));
  put_int(&out, 8, r->uniform_index(8) ? text.size() : len, len_nbytes, false);
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), data.begin(), data.end());
  *b = std::move(out);
}

// ---- safetensors -------------------------------------------------------------------

// Header JSON (padded to a multiple of 8) behind its 8-byte little-endian length.
Bytes safetensors_file(std::string header, const Bytes& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  Bytes b(8);
  put_int(&b, 0, header.size(), 8, false);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::vector<Bytes> safetensors_seeds() {
  Rng r(3);
  std::vector<Bytes> out;
  {  // the project's own writer (the files --export makes)
    dp::test::TempDir dir;
    dp::ParamLayout layout;
    layout.add("layers.1.weight", {2, 3});
    layout.add("layers.1.bias", {2});
    layout.add("layers.0.weight", {3, 4});
    layout.add("layers.0.bias", {3});
    std::vector<float> values(static_cast<std::size_t>(layout.buffer_count()));
    for (auto& v : values) v = static_cast<float>(r.normal());
    dp::write_safetensors(dir.file("m.safetensors"), layout, values.data(),
                          {{"model", "mlp"}, {"hidden", "3"}, {"steps", "10"}});
    out.push_back(dp::test::read_bytes(dir.file("m.safetensors")));
  }
  // By hand: a scalar, an empty tensor, unordered offsets, no metadata.
  out.push_back(safetensors_file(
      R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[0,2],"data_offsets":[4,4]}})",
      random_bytes(4, &r)));
  out.push_back(safetensors_file(
      R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}})",
      random_bytes(24, &r)));
  out.push_back(safetensors_file("{}", Bytes{}));
  return out;
}

void consume_safetensors(const std::vector<dp::NamedTensor>& tensors) {
  for (const auto& t : tensors) {
    std::int64_t n = 1;
    for (auto d : t.shape) {
      if (d < 0) throw FuzzFailure("accepted safetensors tensor with a negative dimension");
      n *= d;  // UBSan: must not overflow
    }
    if (static_cast<std::uint64_t>(n) != t.data.size())
      throw FuzzFailure(dp::concat("accepted safetensors tensor '", t.name, "' with ", n, " elements but ",
                                   t.data.size(), " values"));
    volatile float sink = 0;
    for (float v : t.data) sink = sink + v;
  }
}

ojson interesting_json(Rng* r) {
  switch (r->uniform_index(10)) {
    case 0:
      return -1;
    case 1:
      return -9223372036854775807LL - 1;
    case 2:
      return 1.5;
    case 3:
      return 1e300;
    case 4:
      return "8";
    case 5:
      return nullptr;
    case 6:
      return ojson::array({1, 2});
    default:
      return interesting(r);  // unsigned boundary values up to 2^64-1
  }
}

void mutate_safetensors_json(Bytes* b, Rng* r) {
  if (b->size() < 8) return;
  if (r->uniform_index(4) == 0) {  // the header length: boundary values or off by a little
    const std::uint64_t n = get_int(*b, 0, 8, false);
    put_int(b, 0, r->uniform_index(2) ? interesting(r) : n + r->uniform_index(17) - 8, 8, false);
    return;
  }
  const std::uint64_t n = get_int(*b, 0, 8, false);
  // (Headers over 4 KiB are the deeply nested ones below: ordered_json would copy them
  // recursively here, which is exactly the stack overflow the reader now refuses.)
  if (n > b->size() - 8 || n > 4096) return;
  ojson h = ojson::parse(b->begin() + 8, b->begin() + 8 + static_cast<std::ptrdiff_t>(n), nullptr,
                         /*allow_exceptions=*/false);
  if (!h.is_object()) return;
  const Bytes data(b->begin() + 8 + static_cast<std::ptrdiff_t>(n), b->end());
  std::vector<std::string> names;
  for (auto it = h.begin(); it != h.end(); ++it)
    if (it.key() != "__metadata__") names.push_back(it.key());
  const std::string name = names.empty() ? "t" : names[r->uniform_index(names.size())];
  ojson& t = h[name];
  if (!t.is_object()) t = ojson::object();
  switch (r->uniform_index(8)) {
    case 0:
    case 1:  // one data offset
      t["data_offsets"][r->uniform_index(2)] = interesting_json(r);
      break;
    case 2: {  // both offsets, consistent with each other but beyond the data
      const std::uint64_t begin = interesting(r);
      t["data_offsets"] = {begin, begin + 4};
      break;
    }
    case 3:
    case 4: {  // the shape: huge, zero or malformed dimensions
      ojson shape = ojson::array();
      const std::size_t k = r->uniform_index(6);
      for (std::size_t i = 0; i < k; ++i)
        shape.push_back(r->uniform_index(3) ? interesting_json(r) : ojson(0));
      t["shape"] = shape;
      break;
    }
    case 5: {  // dtype / missing or extra fields / not an object
      switch (r->uniform_index(5)) {
        case 0:
          t["dtype"] = r->uniform_index(2) ? ojson("F16") : ojson(32);
          break;
        case 1:
          t.erase("shape");
          break;
        case 2:
          t.erase("data_offsets");
          break;
        case 3:
          t["data_offsets"].push_back(0);
          break;
        default:
          t = interesting_json(r);
          break;
      }
      break;
    }
    case 6: {  // __metadata__ of the wrong kind, or nested 2000 deep
      ojson deep = ojson::array();
      for (int i = 0; i < 2000; ++i) {
        ojson outer = ojson::array();
        outer.push_back(std::move(deep));
        deep = std::move(outer);
      }
      h["__metadata__"] = r->uniform_index(2) ? std::move(deep) : ojson({{"k", interesting_json(r)}});
      break;
    }
    default:  // a second tensor sharing the first one's bytes
      h[name + "_copy"] = t;
      break;
  }
  std::string text = h.dump();
  if (r->uniform_index(16) == 0) {  // a value nested 30000 deep (the JSON parser's stack)
    const std::size_t depth = 30000;
    text.insert(1, "\"deep\":" + std::string(depth, '[') + std::string(depth, ']') + (h.empty() ? "" : ","));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  Bytes out(8);
  put_int(&out, 0, r->uniform_index(8) ? text.size() : n, 8, false);
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), data.begin(), data.end());
  *b = std::move(out);
}

// ---- checkpoints ---------------------------------------------------------------------

// File: "DPCKPT01", u64 LE header length, JSON header, params/m/v (float32), u32 LE CRC-32.
constexpr std::size_t kCkptHeaderAt = 16;

dp::ParamLayout checkpoint_layout() {
  dp::ParamLayout layout(1);  // files hold the tensors packed
  layout.add("layers.1.weight", {2, 3});
  layout.add("layers.1.bias", {2});
  layout.add("layers.0.weight", {3, 1});
  layout.add("layers.0.bias", {3});
  return layout;
}

ojson checkpoint_resume_config() {
  return {{"lr", 0.001}, {"batch-size", 8}, {"seed", 7}};
}

std::vector<Bytes> checkpoint_seeds() {
  Rng r(4);
  dp::test::TempDir dir;
  std::vector<Bytes> out;
  auto add = [&](const std::vector<dp::TensorView>& layout, std::int64_t step, const ojson& config) {
    dp::Checkpoint ck;
    ck.step = step;
    ck.epoch = 1;
    ck.step_in_epoch = 3;
    ck.adam_steps = step;
    ck.world_size = 2;
    ck.resume_config = config;
    ck.layout = layout;
    std::size_t n = 0;
    for (const auto& t : layout) n += static_cast<std::size_t>(t.count);
    for (std::size_t i = 0; i < n; ++i) {
      ck.params.push_back(static_cast<float>(r.normal()));
      ck.adam_m.push_back(static_cast<float>(r.normal()));
      ck.adam_v.push_back(static_cast<float>(r.uniform01()));
    }
    out.push_back(dp::test::read_bytes(dp::write_checkpoint(dir.path(), ck, 8)));
  };
  add(checkpoint_layout().tensors(), 10, checkpoint_resume_config());  // what a run resumes from
  add({}, 0, ojson::object());                                         // no parameters
  dp::ParamLayout scalar;
  scalar.add("s", {});
  add(scalar.tensors(), 5, {{"nested", {{"a", {1, 2, 3}}, {"b", "x"}}}});
  return out;
}

void consume_checkpoint(const dp::Checkpoint& ck, const std::string& path) {
  const std::size_t n = ck.params.size();
  if (ck.adam_m.size() != n || ck.adam_v.size() != n)
    throw FuzzFailure("accepted checkpoint whose params, m and v differ in size");
  std::int64_t covered = 0;
  for (const auto& t : ck.layout) {
    std::int64_t count = 1;
    for (auto d : t.shape) count *= d;  // UBSan: must not overflow
    if (count != t.count || t.offset != covered)
      throw FuzzFailure("accepted checkpoint with an inconsistent layout entry '" + t.name + "'");
    covered += t.count;
  }
  if (static_cast<std::uint64_t>(covered) != n)
    throw FuzzFailure(dp::concat("accepted checkpoint whose layout covers ", covered, " of ", n, " values"));
  volatile float sink = 0;
  for (std::size_t i = 0; i < n; ++i) sink = sink + ck.params[i] + ck.adam_m[i] + ck.adam_v[i];
  // What --resume does next: refuse another model or other settings by name (the seeds
  // are of several models, so a refusal is fine; it must name the file).
  try {
    dp::check_compatible(ck, path, checkpoint_layout(), checkpoint_resume_config());
  } catch (const dp::UserError& e) {
    if (std::string(e.what()).find(path) == std::string::npos)
      throw FuzzFailure(std::string("check_compatible's error does not name the file: ") + e.what());
  }
}

void mutate_checkpoint_json(Bytes* b, Rng* r) {
  if (b->size() < kCkptHeaderAt + 4) return;
  if (r->uniform_index(4) == 0) {  // the header length: boundary values or off by a little
    const std::uint64_t n = get_int(*b, 8, 8, false);
    put_int(b, 8, r->uniform_index(2) ? interesting(r) : n + r->uniform_index(17) - 8, 8, false);
    return;
  }
  const std::uint64_t n = get_int(*b, 8, 8, false);
  if (n > b->size() - kCkptHeaderAt - 4 || n > 4096) return;  // (see mutate_safetensors_json)
  const auto text_begin = b->begin() + static_cast<std::ptrdiff_t>(kCkptHeaderAt);
  ojson h = ojson::parse(text_begin, text_begin + static_cast<std::ptrdiff_t>(n), nullptr, false);
  if (!h.is_object()) return;
  const Bytes payload(text_begin + static_cast<std::ptrdiff_t>(n), b->end() - 4);
  static const char* fields[] = {"format",         "version",       "step",       "epoch",
                                 "step_in_epoch",  "adam_steps",    "world_size", "param_count",
                                 "payload_nbytes", "resume_config", "layout"};
  const char* field = fields[r->uniform_index(std::size(fields))];
  switch (r->uniform_index(6)) {
    case 0:
    case 1:  // any field: a boundary number, a negative or fractional one, a string, null, ...
      h[field] = interesting_json(r);
      break;
    case 2:  // a field removed, or of another kind
      if (r->uniform_index(2))
        h.erase(field);
      else
        h[field] = r->uniform_index(2) ? ojson("1") : ojson::object();
      break;
    case 3: {  // param_count and payload_nbytes huge but consistent with each other
      const std::uint64_t count = interesting(r);
      h["param_count"] = count;
      h["payload_nbytes"] = count * 12;
      break;
    }
    case 4: {  // one layout entry: shape, offset, count or name
      ojson& layout = h["layout"];
      if (!layout.is_array() || layout.empty()) {
        layout = ojson::array({{{"name", "t"}, {"shape", {1}}, {"offset", 0}, {"count", 1}}});
        break;
      }
      ojson& t = layout[r->uniform_index(layout.size())];
      if (!t.is_object()) break;
      static const char* keys[] = {"shape", "offset", "count", "name"};
      const char* key = keys[r->uniform_index(std::size(keys))];
      if (std::strcmp(key, "shape") == 0 && r->uniform_index(2)) {
        ojson shape = ojson::array();
        const std::size_t k = r->uniform_index(6);
        for (std::size_t i = 0; i < k; ++i) shape.push_back(interesting_json(r));
        t[key] = shape;
      } else {
        t[key] = interesting_json(r);
      }
      break;
    }
    default: {  // resume_config nested deep, or a tensor entry duplicated
      if (r->uniform_index(2)) {
        ojson deep = ojson::array();
        for (int i = 0; i < 2000; ++i) {
          ojson outer = ojson::array();
          outer.push_back(std::move(deep));
          deep = std::move(outer);
        }
        h["resume_config"]["x"] = std::move(deep);
      } else if (h["layout"].is_array() && !h["layout"].empty()) {
        h["layout"].push_back(h["layout"][0]);
      }
      break;
    }
  }
  std::string text = h.dump();
  if (r->uniform_index(16) == 0) {  // a value nested 30000 deep (the JSON parser's stack)
    const std::size_t depth = 30000;
    text.insert(1, "\"deep\":" + std::string(depth, '[') + std::string(depth, ']') + (h.empty() ? "" : ","));
  }
  Bytes out(b->begin(), b->begin() + 8);  // the magic
  out.resize(kCkptHeaderAt);
  put_int(&out, 8, r->uniform_index(8) ? text.size() : n, 8, false);
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), payload.begin(), payload.end());
  out.resize(out.size() + 4);  // the CRC: fixed up by fix_trailing_crc32 on most inputs
  *b = std::move(out);
}

// A mutation of a JSON header may meet a value an earlier mutation gave another type
// (operator[] on a number throws); such an input is left as it is.
void mutate_safetensors_header(Bytes* b, Rng* r) {
  try {
    mutate_safetensors_json(b, r);
  } catch (const ojson::exception&) {
  }
}

void mutate_checkpoint_header(Bytes* b, Rng* r) {
  try {
    mutate_checkpoint_json(b, r);
  } catch (const ojson::exception&) {
  }
}

// ---- --config files (TOML as ConfigFileFormat reads it) --------------------------------

Bytes text_bytes(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

std::vector<Bytes> config_seeds() {
  // Each one a file dptrain accepts (the seeds must be), using what the reader reads.
  return {text_bytes("model = \"mlp\"\nhidden = [256,128]\nlr = 0.001\nrun-dir = \"runs/a\\\\b#1\"\n"),
          text_bytes("\xEF\xBB\xBF"
                     "epochs = 3 # three\r\nhidden = [\r\n  64,  # first\r\n  32,\r\n]\r\n"),
          text_bytes("data = \"npy:x.npy,y.npy\"\nhidden = [ \"8\" , '4' ]\nrun-dir = \"\\u00e9\\U0001F600\\t\"\n"
                     "# comment\nhidden = [16]\ntf32\n"),
          text_bytes("epochs = [3]\nlr = [ 0.1 ]\nsteps = 1_000\nrun-dir = runs/exp_1\ncomm-timeout = inf\n")};
}

// Inserts or overwrites with a character that means something to the reader.
void mutate_config_text(Bytes* b, Rng* r) {
  static const char kSpecial[] = "[]\"'#\\=,\n\r uU0{} \t_.e-+19xafin";
  if (r->uniform_index(4) == 0) {  // an array emptied: "[...]" -> "[]"
    const auto open = std::find(b->begin(), b->end(), static_cast<std::uint8_t>('['));
    const auto close = std::find(open, b->end(), static_cast<std::uint8_t>(']'));
    if (close != b->end()) b->erase(open + 1, close);
    return;
  }
  const char c = kSpecial[r->uniform_index(sizeof kSpecial - 1)];
  const std::size_t at = b->empty() ? 0 : r->uniform_index(b->size() + 1);
  if (r->uniform_index(2) || at == b->size())
    b->insert(b->begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(c));
  else
    (*b)[at] = static_cast<std::uint8_t>(c);
}

// dptrain's options (OptionTable) read the file as --config does; a refusal (CLI11's
// ParseError family, or an empty list entry) becomes the UserError naming the file that
// dptrain prints. What is accepted must come back the same through the file a run writes
// (resume.toml: config_file_text of the resolved table): that is how runs continue.
nlohmann::ordered_json resolve_config(const std::string& text, const std::string& path) {
  // One App for all inputs (building dptrain's ~50 options per input would be most of the
  // time): cleared, and its Config back to the defaults, before each.
  struct Options {
    CLI::App app;
    dp::Config cfg;
    dp::OptionTable table{app, cfg};
    Options() { app.config_formatter(std::make_shared<dp::ConfigFileFormat>()); }
  };
  static Options options;
  CLI::App& app = options.app;
  options.cfg = dp::Config();
  app.clear();
  std::istringstream in(text);
  try {
    app.parse_from_stream(in);
  } catch (const CLI::ConfigError& e) {
    throw dp::UserError(path + ": " + e.what());
  } catch (const CLI::ConversionError& e) {
    throw dp::UserError(path + ": " + e.what());
  } catch (const CLI::ValidationError& e) {
    throw dp::UserError(path + ": " + e.what());
  } catch (const CLI::ArgumentMismatch& e) {
    throw dp::UserError(path + ": " + e.what());
  }
  char name[] = "dptrain";
  char* argv[] = {name, nullptr};
  if (const std::string empty = dp::empty_list_entry(app, 1, argv); !empty.empty())
    throw dp::UserError(path + ": " + empty);
  nlohmann::ordered_json resolved = options.table.to_json();
  resolved.erase("dry-run");  // config_file_text leaves it out
  return resolved;
}

void parse_config(const Bytes& b, const std::string& path) {
  const nlohmann::ordered_json first = resolve_config(std::string(b.begin(), b.end()), path);
  const std::string written = dp::config_file_text(first);
  nlohmann::ordered_json again;
  try {
    again = resolve_config(written, path);
  } catch (const dp::UserError& e) {
    throw FuzzFailure(std::string("its resolved table does not read back: ") + e.what() + "\n" + written);
  }
  if (again != first) throw FuzzFailure("its resolved table reads back otherwise:\n" + written);
}

// ---- the table -------------------------------------------------------------------

std::vector<Format> make_formats() {
  std::vector<Format> f;
  f.push_back({"idx", "fuzz.idx", idx_seeds(),
               [](const Bytes& b, const std::string& path) { consume_idx(dp::parse_idx(b, path)); },
               mutate_idx_header, nullptr});
  f.push_back({"idx.gz", "fuzz.idx.gz", gzip_seeds(),
               [](const Bytes& b, const std::string& path) {
                 // What read_idx does with a gzip file, from memory; a 16 MiB output cap
                 // keeps decompression bombs cheap (the real limit is read_file_bytes').
                 consume_idx(dp::parse_idx(dp::inflate_gzip(b, path, std::size_t{1} << 24), path));
               },
               mutate_gzip_header, nullptr});
  f.push_back({"npy", "fuzz.npy", npy_seeds(),
               [](const Bytes& b, const std::string& path) { consume_npy(dp::parse_npy(b, path)); },
               mutate_npy_header, nullptr});
  f.push_back({"safetensors", "fuzz.safetensors", safetensors_seeds(),
               [](const Bytes& b, const std::string& path) {
                 std::map<std::string, std::string> metadata;
                 consume_safetensors(dp::parse_safetensors(b, path, &metadata));
               },
               mutate_safetensors_header, nullptr});
  // The CRC-32 would refuse nearly every mutation before the header is read, so it is
  // recomputed on 3 inputs in 4 (the rest test the CRC check itself).
  f.push_back({"checkpoint", "fuzz.dpckpt", checkpoint_seeds(),
               [](const Bytes& b, const std::string& path) {
                 consume_checkpoint(dp::parse_checkpoint(b, path), path);
               },
               mutate_checkpoint_header, fix_trailing_crc32});
  f.push_back({"config", "fuzz.toml", config_seeds(), parse_config, mutate_config_text, nullptr});
  // A new format: a row here, its sources in DPTRAIN_PARSER_SOURCES (tests/fuzz/CMakeLists.txt).
  return f;
}

// ---- the driver -----------------------------------------------------------------

struct Stats {
  std::uint64_t inputs = 0, accepted = 0, rejected = 0, failures = 0;
  double seconds = 0;
};

// What the sanitizer death callback needs to name and save the input being parsed.
struct Current {
  const Format* format = nullptr;
  std::uint64_t iteration = 0;
  std::uint64_t seed = 0;
  const Bytes* input = nullptr;
  std::string mutations;
  std::string only;  // --format, repeated in the replay command
  std::string out_dir = ".";
} g_current;

std::string save_current() {
  if (g_current.format == nullptr || g_current.input == nullptr) return "(no input yet)";
  const std::string file = g_current.out_dir + "/fuzz-failure-" + g_current.format->name + "-" +
                           std::to_string(g_current.iteration) + ".bin";
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr) return "(could not write " + file + ")";
  if (!g_current.input->empty()) std::fwrite(g_current.input->data(), 1, g_current.input->size(), f);
  std::fclose(f);
  return file;
}

void report_current(const char* what) {
  std::fprintf(stderr,
               "fuzz_parsers: FAILURE (%s) on format %s, iteration %" PRIu64
               ", %zu-byte input, mutations: %s\n"
               "  replay: fuzz_parsers --seed %" PRIu64 " --replay %" PRIu64 "%s%s\n  input saved to %s\n",
               what, g_current.format ? g_current.format->name.c_str() : "?", g_current.iteration,
               g_current.input ? g_current.input->size() : 0, g_current.mutations.c_str(), g_current.seed,
               g_current.iteration, g_current.only.empty() ? "" : " --format ", g_current.only.c_str(),
               save_current().c_str());
}

#if defined(DPTRAIN_FUZZ_ASAN)
void on_sanitizer_death() {
  report_current("sanitizer report above");
}
#endif

// A fatal signal (UBSan's abort, std::abort, and without ASan a crash): name the input,
// then die of the same signal.
extern "C" void on_fatal_signal(int sig) {
  report_current(sig == SIGABRT ? "abort: sanitizer report or std::abort above" : "fatal signal");
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Builds input `i` of `format` from Rng(mix_seed(seed, i)).
Bytes make_input(const Format& format, std::uint64_t seed, std::uint64_t i, std::string* mutations) {
  Rng r(dp::mix_seed(seed, i));
  Bytes b = format.seeds[r.uniform_index(format.seeds.size())];
  mutations->clear();
  const std::uint64_t rounds = r.uniform_index(10) < 7 ? 1 : 2 + r.uniform_index(3);
  for (std::uint64_t k = 0; k < rounds; ++k) {
    if (!mutations->empty()) *mutations += "+";
    if (r.uniform_index(10) < 3) {
      format.mutate_header(&b, &r);
      *mutations += "header";
    } else {
      *mutations += mutate_generic(&b, &r);
    }
    if (b.size() > kMaxInputBytes) b.resize(kMaxInputBytes);
  }
  if (format.fixup && r.uniform_index(4) != 0) {
    format.fixup(&b);
    *mutations += "+fixup";
  }
  return b;
}

enum class Outcome { accepted, rejected, failed };

Outcome run_one(const Format& format, const Bytes& input, std::string* message) {
  try {
    format.parse(input, format.path);
    return Outcome::accepted;
  } catch (const dp::UserError& e) {
    *message = e.what();
    // A clean error names the file it is about.
    if (message->find(format.path) == std::string::npos) {
      *message = "UserError without the file name: " + *message;
      return Outcome::failed;
    }
    return Outcome::rejected;
  } catch (const FuzzFailure& e) {
    *message = std::string("inconsistent result: ") + e.what();
  } catch (const std::exception& e) {
    *message = std::string("not a UserError: ") + e.what();
  } catch (...) {
    *message = "unknown exception";
  }
  return Outcome::failed;
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--iterations N] [--seed S] [--format NAME] [--replay I] [--out-dir DIR]\n"
               "  N inputs in all (default 20000), spread round-robin over the formats\n",
               argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t iterations = 20000, seed = 1;
  std::int64_t replay = -1;
  std::string only;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) usage(argv[0]);
      return argv[++a];
    };
    if (arg == "--iterations")
      iterations = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--seed")
      seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--replay")
      replay = std::strtoll(value().c_str(), nullptr, 10);
    else if (arg == "--format")
      only = g_current.only = value();
    else if (arg == "--out-dir")
      g_current.out_dir = value();
    else
      usage(argv[0]);
  }
  std::signal(SIGABRT, on_fatal_signal);
#if defined(DPTRAIN_FUZZ_ASAN)
  __sanitizer_set_death_callback(on_sanitizer_death);  // ASan handles SEGV itself
#else
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);
#endif
#if !defined(DPTRAIN_FUZZ_ASAN) && !defined(__SANITIZE_THREAD__)
  // Without ASan, an address-space cap turns a header-driven huge allocation into
  // std::bad_alloc, which the driver reports as a failure (inputs are <= 64 KiB).
  const rlimit cap = {std::size_t{2} << 30, std::size_t{2} << 30};
  setrlimit(RLIMIT_AS, &cap);
#endif
  g_current.seed = seed;

  std::vector<Format> all = make_formats();
  std::vector<const Format*> formats;
  for (const Format& f : all)
    if (only.empty() || f.name == only) formats.push_back(&f);
  if (formats.empty()) {
    std::fprintf(stderr, "fuzz_parsers: no format named '%s'\n", only.c_str());
    return 2;
  }
  std::map<std::string, Stats> stats;
  std::uint64_t failures = 0;
  auto record = [&](const Format& f, const Bytes& input, std::uint64_t iteration,
                    const std::string& mutations, bool must_accept) {
    g_current.format = &f;
    g_current.iteration = iteration;
    g_current.input = &input;
    g_current.mutations = mutations;
    std::string message;
    const auto t0 = std::chrono::steady_clock::now();
    Outcome o = run_one(f, input, &message);
    Stats& s = stats[f.name];
    s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++s.inputs;
    if (must_accept && o != Outcome::accepted) {
      message = "a valid seed was not accepted: " + message;
      o = Outcome::failed;
    }
    if (o == Outcome::accepted) ++s.accepted;
    if (o == Outcome::rejected) ++s.rejected;
    if (o == Outcome::failed) {
      ++s.failures;
      if (++failures <= 10) {
        std::fprintf(stderr, "fuzz_parsers: %s\n", message.c_str());
        report_current("no clean error");
      }
    } else if (replay >= 0) {
      std::printf("replay: format %s, iteration %" PRId64 ", %zu bytes, mutations %s -> %s%s%s\n",
                  f.name.c_str(), replay, input.size(), mutations.c_str(),
                  o == Outcome::accepted ? "accepted" : "rejected", message.empty() ? "" : ": ",
                  message.c_str());
    }
    g_current.input = nullptr;
  };

  const auto start = std::chrono::steady_clock::now();
  if (replay < 0) {
    // Every seed, unmutated, must be accepted (otherwise the fuzzer tests nothing).
    for (const Format* f : formats)
      for (const Bytes& s : f->seeds) record(*f, s, 0, "none (seed)", true);
    for (std::uint64_t i = 0; i < iterations; ++i) {
      const Format& f = *formats[i % formats.size()];
      std::string mutations;
      g_current = {&f, i, seed, nullptr, "(building the input)", g_current.only, g_current.out_dir};
      const Bytes input = make_input(f, seed, i, &mutations);
      record(f, input, i, mutations, false);
    }
  } else {
    const auto i = static_cast<std::uint64_t>(replay);
    const Format& f = *formats[i % formats.size()];
    std::string mutations;
    g_current = {&f, i, seed, nullptr, "(building the input)", g_current.only, g_current.out_dir};
    const Bytes input = make_input(f, seed, i, &mutations);
    record(f, input, i, mutations, false);
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::uint64_t inputs = 0;
  std::printf("fuzz_parsers: seed %" PRIu64 ", %s\n", seed,
#if defined(DPTRAIN_FUZZ_ASAN)
              "built with AddressSanitizer"
#else
              "built without AddressSanitizer (address-space cap 2 GiB)"
#endif
  );
  std::printf("  %-12s %8s %9s %9s %8s %9s\n", "format", "inputs", "accepted", "rejected", "failed",
              "parse_s");
  for (const Format* f : formats) {
    const Stats& s = stats[f->name];
    inputs += s.inputs;
    std::printf("  %-12s %8" PRIu64 " %9" PRIu64 " %9" PRIu64 " %8" PRIu64 " %9.3f\n", f->name.c_str(),
                s.inputs, s.accepted, s.rejected, s.failures, s.seconds);
  }
  std::printf("  %" PRIu64 " inputs (seeds included) in %.2f s; %" PRIu64 " failures\n", inputs, total_s,
              failures);
  return failures == 0 ? 0 : 1;
}
