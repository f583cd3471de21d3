// Whole-file reading with transparent gzip (zlib): the data readers parse from memory,
// so every header field is checked against the number of bytes actually present before
// it is used for an allocation or an index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dp {

// Reads `path`; if gunzip is set and it starts with the gzip magic (1f 8b) it is
// decompressed. Throws
// UserError naming the file on: missing/unreadable file, corrupt or truncated gzip
// data, or more than max_nbytes of (decompressed) content.
std::vector<std::uint8_t> read_file_bytes(const std::string& path, bool gunzip = true,
                                          std::size_t max_nbytes = std::size_t{1} << 36);

// Inflates a complete gzip stream held in memory (several members allowed, as
// `gzip -c a b > c` makes): what read_file_bytes does with a gzip file. Throws UserError
// naming `path` on corrupt, truncated or trailing data, or more than max_nbytes of output.
std::vector<std::uint8_t> inflate_gzip(const std::vector<std::uint8_t>& compressed, const std::string& path,
                                       std::size_t max_nbytes = std::size_t{1} << 36);

}  // namespace dp
