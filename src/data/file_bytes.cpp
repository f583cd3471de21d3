#include "src/data/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "src/util/check.h"

namespace dp {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::vector<std::uint8_t> read_raw(std::FILE* f, const std::string& path, std::size_t max_nbytes) {
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const std::size_t n = std::fread(chunk, 1, sizeof chunk, f);
    DP_USER_CHECK(out.size() + n <= max_nbytes, path, ": file is larger than the ", max_nbytes,
                  "-byte limit");
    out.insert(out.end(), chunk, chunk + n);
    if (n < sizeof chunk) break;
  }
  DP_USER_CHECK(!std::ferror(f), path, ": read error: ", std::strerror(errno));
  return out;
}

}  // namespace

// Inflates a complete gzip stream (several members allowed, as gzip -c a b > c makes).
std::vector<std::uint8_t> inflate_gzip(const std::vector<std::uint8_t>& in, const std::string& path,
                                       std::size_t max_nbytes) {
  std::vector<std::uint8_t> out;
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // 15 + 16: zlib window of 32 KiB, gzip wrapper only.
  DP_USER_CHECK(inflateInit2(&zs, 15 + 16) == Z_OK, path, ": cannot initialise zlib");
  std::size_t consumed = 0;
  std::uint8_t chunk[1 << 16];
  auto fail = [&](const std::string& why) {
    inflateEnd(&zs);
    throw UserError(concat(path, ": ", why));
  };
  for (;;) {
    zs.next_in = const_cast<Bytef*>(in.data() + consumed);
    const std::size_t avail = std::min<std::size_t>(in.size() - consumed, 1u << 30);
    zs.avail_in = static_cast<uInt>(avail);
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    consumed += avail - zs.avail_in;
    const std::size_t produced = sizeof chunk - zs.avail_out;
    if (out.size() + produced > max_nbytes)
      fail(concat("decompressed data is larger than the ", max_nbytes, "-byte limit"));
    out.insert(out.end(), chunk, chunk + produced);
    if (rc == Z_OK) continue;  // progress was made; call again (output may be pending)
    if (rc == Z_STREAM_END) {
      if (consumed == in.size()) break;
      // A following gzip member starts with the magic again; anything else is garbage.
      if (in.size() - consumed >= 2 && in[consumed] == 0x1f && in[consumed + 1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      fail(concat("corrupt gzip file (", in.size() - consumed, " stray bytes after the compressed data)"));
    }
    // Z_BUF_ERROR: no progress possible. With all input consumed, the stream ended early.
    if (rc == Z_BUF_ERROR && consumed == in.size()) fail("truncated gzip file (compressed data ends early)");
    fail(concat("corrupt gzip file (", zs.msg ? zs.msg : "zlib error", ")"));
  }
  inflateEnd(&zs);
  return out;
}

std::vector<std::uint8_t> read_file_bytes(const std::string& path, bool gunzip, std::size_t max_nbytes) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  DP_USER_CHECK(f != nullptr, path, ": cannot open: ", std::strerror(errno));
  std::vector<std::uint8_t> raw = read_raw(f.get(), path, max_nbytes);
  if (gunzip && raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
    return inflate_gzip(raw, path, max_nbytes);
  return raw;
}

}  // namespace dp
