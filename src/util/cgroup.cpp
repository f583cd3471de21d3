#include "src/util/cgroup.h"

#include <cstdlib>
#include <fstream>

#include "src/util/fs.h"

namespace dp {

std::vector<CgroupDirs> cgroup_dirs(const std::string& controller, const std::string& root,
                                    const std::string& proc_cgroup) {
  std::vector<CgroupDirs> found;
  std::ifstream in(proc_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    const bool v2 = controllers == ",,";
    if (!v2 && controllers.find("," + controller + ",") == std::string::npos) continue;
    std::string path = line.substr(b + 1);
    while (!path.empty() && path.back() == '/') path.pop_back();
    const std::string base =
        v2 ? (is_directory(root + "/unified") ? root + "/unified" : root) : root + "/" + controller;
    if (!is_directory(base)) continue;
    std::string dir = base + path;
    while (dir.size() > base.size() && !is_directory(dir)) dir = parent_dir(dir);
    CgroupDirs entry;
    entry.v2 = v2;
    for (;; dir = parent_dir(dir)) {
      entry.dirs.push_back(dir);
      if (dir.size() <= base.size()) break;
    }
    found.push_back(std::move(entry));
  }
  return found;
}

int cpu_list_count(const std::string& list) {
  int count = 0;
  const char* p = list.c_str();
  while (*p != '\0' && *p != '\n') {
    char* end = nullptr;
    const long first = std::strtol(p, &end, 10);
    if (end == p || first < 0) return -1;
    long last = first;
    p = end;
    if (*p == '-') {
      last = std::strtol(p + 1, &end, 10);
      if (end == p + 1 || last < first) return -1;
      p = end;
    }
    count += static_cast<int>(last - first + 1);
    if (*p == ',')
      ++p;
    else if (*p != '\0' && *p != '\n')
      return -1;
  }
  return count;
}

int cgroup_cpuset_count(const std::string& root, const std::string& proc_cgroup) {
  for (const CgroupDirs& h : cgroup_dirs("cpuset", root, proc_cgroup)) {
    for (const std::string& dir : h.dirs) {
      std::ifstream in(dir + (h.v2 ? "/cpuset.cpus.effective" : "/cpuset.effective_cpus"));
      std::string list;
      if (!std::getline(in, list)) continue;
      const int n = cpu_list_count(list);
      if (n > 0) return n;
    }
  }
  return 0;
}

}  // namespace dp
