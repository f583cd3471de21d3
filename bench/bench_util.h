// Small helpers the dpbench subcommands share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp::bench {

// "8", "64K", "1M", "1G" -> bytes, between 4 bytes and 64G; a UserError naming flag otherwise.
std::uint64_t parse_size(const std::string& text, const char* flag);

// MemAvailable of /proc/meminfo in bytes (0 when it cannot be read).
double available_memory_bytes();

// The middle element (the upper one for an even count) of a non-empty sample.
double median_of(std::vector<double> v);

}  // namespace dp::bench
