// Small filesystem helpers with user-facing errors (UserError naming the flag and path).
#pragma once

#include <string>

namespace dp {

bool is_regular_file(const std::string& path);
bool is_directory(const std::string& path);
// mkdir -p; throws UserError "<flag>: cannot create <dir>: <reason>".
void make_dirs(const std::string& path, const std::string& flag);
// Fails early, not after hours of training: throws UserError "<flag>: cannot write <path>:
// <reason>" unless a file can be created or replaced at path (its directory exists and is
// writable, the path is not a directory, an existing file is writable). Creates nothing.
void ensure_file_writable(const std::string& path, const std::string& flag);
// fsync of a file's data (before renaming it over another). Returns false on failure.
bool fsync_file(const std::string& path);
// fsync of a directory, so a rename inside it is durable. Returns false on failure.
bool fsync_dir(const std::string& dir);
// Directory part of a path ("." when there is none).
std::string parent_dir(const std::string& path);

}  // namespace dp
