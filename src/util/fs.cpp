#include "src/util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "src/util/check.h"

namespace dp {

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::uint64_t file_nbytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path, const std::string& flag) {
  DP_USER_CHECK(!path.empty(), flag, ": empty directory name");
  for (std::size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    const std::string partial = path.substr(0, pos);
    if (!partial.empty() && ::mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST)
      throw UserError(concat(flag, ": cannot create ", partial, ": ", std::strerror(errno)));
    if (pos == std::string::npos) break;
  }
  DP_USER_CHECK(is_directory(path), flag, ": ", path, " is not a directory");
}

void ensure_dir_creatable(const std::string& path, const std::string& flag) {
  DP_USER_CHECK(!path.empty(), flag, ": empty directory name");
  std::string dir = path;
  struct stat st;
  while (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT)
      throw UserError(concat(flag, ": cannot create ", path, ": ", dir, ": ", std::strerror(errno)));
    const std::string up = parent_dir(dir);
    if (up == dir) break;
    dir = up;
  }
  if (!S_ISDIR(st.st_mode))
    throw UserError(concat(flag, ": cannot create ", path, ": ", dir, " is not a directory"));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw UserError(concat(flag, ": cannot create ", path, ": ", dir, ": ", std::strerror(errno)));
}

void ensure_file_writable(const std::string& path, const std::string& flag, bool parent_may_be_created) {
  DP_USER_CHECK(!path.empty(), flag, ": empty file name");
  const auto refuse = [&](const std::string& why) {
    throw UserError(concat(flag, ": cannot write ", path, ": ", why));
  };
  if (is_directory(path)) refuse("it is a directory");
  const std::string dir = parent_dir(path);
  if (parent_may_be_created && !is_directory(dir)) {
    ensure_dir_creatable(dir, flag);
    return;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) refuse(concat("directory ", dir, ": ", std::strerror(errno)));
  if (!S_ISDIR(st.st_mode)) refuse(concat(dir, " is not a directory"));
  if (::access(dir.c_str(), W_OK | X_OK) != 0) refuse(concat("directory ", dir, ": ", std::strerror(errno)));
  if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0) refuse(std::strerror(errno));
}

namespace {
bool fsync_path(const std::string& path, int open_flags) {
  const int fd = ::open(path.c_str(), open_flags);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

bool fsync_file(const std::string& path) {
  return fsync_path(path, O_RDONLY);
}

bool fsync_dir(const std::string& dir) {
  return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

std::string absolute_path(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char buf[4096];
  if (::getcwd(buf, sizeof buf) == nullptr) return path;
  std::string p = path;
  while (p.rfind("./", 0) == 0) p = p.substr(2);
  return std::string(buf) + (p.empty() || p == "." ? "" : "/" + p);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

namespace {

// Appends dir's empty files and directories, deepest first, to doomed; false (and nothing
// of value is touched) when its tree holds anything else. depth bounds the descent.
bool collect_hollow(const std::string& dir, int depth, std::vector<std::string>* doomed) {
  struct stat st;
  if (depth < 0 || ::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  for (const std::string& name : list_dir(dir)) {
    const std::string path = dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) return false;
    if (S_ISREG(st.st_mode) && st.st_size == 0)
      doomed->push_back(path);
    else if (!S_ISDIR(st.st_mode) || !collect_hollow(path, depth - 1, doomed))
      return false;
  }
  doomed->push_back(dir);
  return true;
}

}  // namespace

bool remove_dir_if_hollow(const std::string& dir) {
  // First look at everything, then remove: a tree with anything of value is left whole.
  std::vector<std::string> doomed;
  if (!collect_hollow(dir, 16, &doomed)) return false;
  for (const std::string& path : doomed) (void)std::remove(path.c_str());
  return !path_exists(dir);
}

}  // namespace dp
