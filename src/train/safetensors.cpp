#include "src/train/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "src/data/file_bytes.h"
#include "src/util/check.h"
#include "src/util/json_depth.h"

namespace dp {
namespace {

// Compares runs of digits as numbers and everything else character by character:
// "layers.9.bias" < "layers.10.bias".
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      std::size_t i_end = i, j_end = j;
      while (i_end < a.size() && is_digit(a[i_end])) ++i_end;
      while (j_end < b.size() && is_digit(b[j_end])) ++j_end;
      // Strip leading zeros, then a longer number is larger; equal lengths compare as text.
      while (i + 1 < i_end && a[i] == '0') ++i;
      while (j + 1 < j_end && b[j] == '0') ++j;
      if (i_end - i != j_end - j) return i_end - i < j_end - j;
      const int c = a.compare(i, i_end - i, b, j, j_end - j);
      if (c != 0) return c < 0;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

void write_safetensors(const std::string& path, const ParamLayout& layout, const float* values,
                       const std::map<std::string, std::string>& metadata, const char* flag) {
  // Natural name order, so the file lists layers.0 first and layers.10 after layers.9.
  std::vector<const TensorView*> order;
  for (const auto& t : layout.tensors()) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const TensorView* a, const TensorView* b) { return natural_less(a->name, b->name); });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::int64_t begin = 0;
  for (const TensorView* t : order) {
    const std::int64_t end = begin + t->count * 4;
    header[t->name] = {{"dtype", "F32"}, {"shape", t->shape}, {"data_offsets", {begin, end}}};
    begin = end;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  DP_USER_CHECK(f != nullptr, flag, ": cannot create ", tmp, ": ", std::strerror(errno));
  std::uint8_t len_le[8];
  for (int i = 0; i < 8; ++i)
    len_le[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  bool ok = std::fwrite(len_le, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const TensorView* t : order) {
    const auto n = static_cast<std::size_t>(t->count);
    ok = ok && std::fwrite(values + t->offset, sizeof(float), n, f) == n;
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const int saved_errno = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw UserError(concat(flag, ": writing ", path, " failed: ", std::strerror(saved_errno)));
  }
  DP_USER_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, flag, ": cannot rename ", tmp, " to ", path,
                ": ", std::strerror(errno));
}

std::vector<NamedTensor> read_safetensors(const std::string& path,
                                          std::map<std::string, std::string>* metadata) {
  return parse_safetensors(read_file_bytes(path, /*gunzip=*/false), path, metadata);
}

std::vector<NamedTensor> parse_safetensors(const std::vector<std::uint8_t>& bytes, const std::string& path,
                                           std::map<std::string, std::string>* metadata) {
  DP_USER_CHECK(bytes.size() >= 8, path, ": not a safetensors file (", bytes.size(), " bytes)");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  DP_USER_CHECK(n <= bytes.size() - 8, path, ": safetensors header length ", n, " exceeds the file size");
  const std::size_t data_start = 8 + static_cast<std::size_t>(n);
  const std::uint64_t data_nbytes = bytes.size() - data_start;
  // (A safetensors header nests 3 deep; see json_depth.h for why depth is checked first.)
  DP_USER_CHECK(json_nesting_depth(bytes.data() + 8, data_start - 8) <= 16, path,
                ": safetensors header nests deeper than 16 levels (not a safetensors header)");
  // ordered_json keeps the file's tensor order.
  nlohmann::ordered_json header = nlohmann::ordered_json::parse(
      bytes.begin() + 8, bytes.begin() + static_cast<std::ptrdiff_t>(data_start), nullptr,
      /*allow_exceptions=*/false);
  DP_USER_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  std::vector<NamedTensor> out;
  struct Range {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (metadata && it->is_object())
        for (auto m = it->begin(); m != it->end(); ++m)
          if (m->is_string()) (*metadata)[m.key()] = m->get<std::string>();
      continue;
    }
    const nlohmann::ordered_json& t = *it;
    // contains() before operator[]: the const operator[] of a missing key is undefined
    // behaviour in nlohmann::json, and value() throws its own exception on a non-string.
    DP_USER_CHECK(t.is_object() && t.contains("dtype") && t["dtype"] == "F32", path, ": tensor '", it.key(),
                  "' is not F32 (only float32 tensors are supported)");
    DP_USER_CHECK(t.contains("shape") && t.contains("data_offsets"), path, ": tensor '", it.key(),
                  "' has a malformed shape or data_offsets");
    const auto& shape = t["shape"];
    const auto& offsets = t["data_offsets"];
    DP_USER_CHECK(shape.is_array() && offsets.is_array() && offsets.size() == 2 &&
                      offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
                  path, ": tensor '", it.key(), "' has a malformed shape or data_offsets");
    NamedTensor nt;
    nt.name = it.key();
    std::uint64_t count = 1;
    for (const auto& d : shape) {
      DP_USER_CHECK(d.is_number_unsigned() && d.get<std::uint64_t>() <= data_nbytes, path, ": tensor '",
                    it.key(), "' has a bad dimension");
      const auto dim = d.get<std::uint64_t>();
      DP_USER_CHECK(dim == 0 || count <= data_nbytes / dim, path, ": tensor '", it.key(),
                    "' is larger than the file");
      count *= dim;
      nt.shape.push_back(static_cast<std::int64_t>(dim));
    }
    const auto b = offsets[0].get<std::uint64_t>(), e = offsets[1].get<std::uint64_t>();
    DP_USER_CHECK(b <= e && e <= data_nbytes && e - b == count * 4, path, ": tensor '", it.key(),
                  "' has data_offsets [", b, ", ", e, "] inconsistent with its shape or the file size");
    nt.data.resize(static_cast<std::size_t>(count));
    if (count)
      std::memcpy(nt.data.data(), bytes.data() + data_start + b, static_cast<std::size_t>(count) * 4);
    ranges.push_back({b, e, it.key()});
    out.push_back(std::move(nt));
  }
  // The format requires the data section to be covered exactly: no holes, no overlaps.
  std::sort(ranges.begin(), ranges.end(), [](const Range& x, const Range& y) {
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  std::uint64_t covered = 0;
  for (const Range& r : ranges) {
    DP_USER_CHECK(r.begin == covered, path, ": tensor '", r.name, "' starts at byte ", r.begin, " but ",
                  r.begin < covered ? "overlaps the previous tensor" : "leaves a hole after it",
                  " (previous data ends at ", covered, ")");
    covered = r.end;
  }
  DP_USER_CHECK(covered == data_nbytes, path, ": ", data_nbytes - covered,
                " bytes after the last tensor are not described by the header");
  return out;
}

}  // namespace dp
