// Small filesystem helpers with user-facing errors (UserError naming the flag and path).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp {

bool is_regular_file(const std::string& path);
bool is_directory(const std::string& path);
bool path_exists(const std::string& path);           // anything at all (stat succeeds)
std::uint64_t file_nbytes(const std::string& path);  // a regular file's size, else 0
// mkdir -p; throws UserError "<flag>: cannot create <dir>: <reason>".
void make_dirs(const std::string& path, const std::string& flag);
// Fails early, not after hours of training: throws UserError "<flag>: cannot write <path>:
// <reason>" unless a file can be created or replaced at path (its directory exists and is
// writable, the path is not a directory, an existing file is writable). Creates nothing.
// parent_may_be_created: the directory may not exist yet (a --dry-run, which creates no run
// dir); then its nearest existing ancestor must be a writable directory.
void ensure_file_writable(const std::string& path, const std::string& flag,
                          bool parent_may_be_created = false);
// mkdir -p would succeed: the nearest existing ancestor of path is a writable directory.
// Creates nothing; throws UserError "<flag>: cannot create <path>: <reason>".
void ensure_dir_creatable(const std::string& path, const std::string& flag);
// fsync of a file's data (before renaming it over another). Returns false on failure.
bool fsync_file(const std::string& path);
// fsync of a directory, so a rename inside it is durable. Returns false on failure.
bool fsync_dir(const std::string& dir);
// path relative to the current directory made absolute (lexically: no symlink is resolved);
// an absolute or empty path as it is.
std::string absolute_path(const std::string& path);
// Directory part of a path ("." when there is none).
std::string parent_dir(const std::string& path);
// The names in dir (without . and ..), in no particular order; empty when dir cannot be read.
std::vector<std::string> list_dir(const std::string& dir);
// Removes dir when its whole tree holds nothing but empty files and directories (what a
// run refused before its first step leaves in the run dir it created), those included.
// Anything else in it (a byte of data, a link) keeps all of it. Returns true when dir is gone.
bool remove_dir_if_hollow(const std::string& dir);

}  // namespace dp
