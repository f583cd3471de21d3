// src/util/cgroup.h on fake cgroup trees: v2, hybrid (v2 under unified/), v1 per
// controller, namespaces whose path is not under the mount point, leaves without files.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "src/util/cgroup.h"
#include "src/util/fs.h"
#include "tests/data/data_test_util.h"

using dp::test::TempDir;

namespace {

void write_text(const std::string& path, const std::string& text) {
  dp::make_dirs(dp::parent_dir(path), "test");
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("cpu_list_count reads cpuset lists", "[cgroup]") {
  CHECK(dp::cpu_list_count("0") == 1);
  CHECK(dp::cpu_list_count("0-3") == 4);
  CHECK(dp::cpu_list_count("0-3,8,10-11\n") == 7);
  CHECK(dp::cpu_list_count("") == 0);
  CHECK(dp::cpu_list_count("3-1") == -1);
  CHECK(dp::cpu_list_count("a") == -1);
  CHECK(dp::cpu_list_count("1,,2") == -1);
}

TEST_CASE("cgroup_dirs walks from the process's cgroup up to the mount point", "[cgroup]") {
  TempDir tmp;
  const std::string root = tmp.file("cg"), proc = tmp.file("proc-cgroup");
  SECTION("v2: innermost first") {
    dp::make_dirs(root + "/job/step", "test");
    write_text(proc, "0::/job/step\n");
    const auto found = dp::cgroup_dirs("memory", root, proc);
    REQUIRE(found.size() == 1);
    CHECK(found[0].v2);
    CHECK(found[0].dirs == std::vector<std::string>{root + "/job/step", root + "/job", root});
  }
  SECTION("hybrid: v1 memory and v2 under unified/; other controllers' lines are skipped") {
    dp::make_dirs(root + "/memory/a", "test");
    dp::make_dirs(root + "/unified", "test");
    write_text(proc, "5:cpu,cpuacct:/a\n4:memory:/a\n0::/\n");
    const auto found = dp::cgroup_dirs("memory", root, proc);
    REQUIRE(found.size() == 2);
    CHECK_FALSE(found[0].v2);
    CHECK(found[0].dirs == std::vector<std::string>{root + "/memory/a", root + "/memory"});
    CHECK(found[1].v2);
    CHECK(found[1].dirs == std::vector<std::string>{root + "/unified"});
  }
  SECTION("a path missing under the mount point starts at its deepest existing ancestor") {
    dp::make_dirs(root + "/job", "test");
    write_text(proc, "0::/job/step/task_0\n");
    CHECK(dp::cgroup_dirs("memory", root, proc)[0].dirs == std::vector<std::string>{root + "/job", root});
    write_text(proc, "0::/outside/view\n");
    CHECK(dp::cgroup_dirs("memory", root, proc)[0].dirs == std::vector<std::string>{root});
  }
  SECTION("nothing to read: no hierarchy") {
    CHECK(dp::cgroup_dirs("memory", root, tmp.file("missing")).empty());
  }
}

TEST_CASE("cgroup_cpuset_count: the innermost cpuset that says", "[cgroup]") {
  TempDir tmp;
  const std::string root = tmp.file("cg"), proc = tmp.file("proc-cgroup");
  SECTION("v2: a job's cpuset below the host's") {
    write_text(proc, "0::/job/task\n");
    write_text(root + "/cpuset.cpus.effective", "0-63\n");
    write_text(root + "/job/cpuset.cpus.effective", "4-7,12-15\n");
    dp::make_dirs(root + "/job/task", "test");  // no cpuset controller enabled here
    CHECK(dp::cgroup_cpuset_count(root, proc) == 8);
  }
  SECTION("v1 in a namespace") {
    write_text(proc, "3:cpuset:/docker/abc\n0::/\n");
    write_text(root + "/cpuset/cpuset.effective_cpus", "0-1\n");
    CHECK(dp::cgroup_cpuset_count(root, proc) == 2);
  }
  SECTION("none") {
    write_text(proc, "0::/\n");
    dp::make_dirs(root, "test");
    CHECK(dp::cgroup_cpuset_count(root, proc) == 0);
  }
}
