// data_interop: the C++ side of the Python interoperability checks (tests/data/*.py).
//
//   data_interop write-safetensors PATH   writes the layout and values described in
//                                         check_safetensors.py (expected_tensors)
//   data_interop write-npy DIR            writes the arrays described in npy_interop.py
//                                         (CPP_WRITTEN) with write_npy
//   data_interop check-npy DIR            reads every DIR/NAME.npy with read_npy and
//                                         compares it with DIR/NAME.txt, which says either
//                                           descr D / shape d0 d1 ... / values v0 v1 ...
//                                         or
//                                           error SUBSTRING  (read_npy must refuse it so)
//
// Exit status 0 when everything matches, 1 on a mismatch (each one printed), 2 on misuse.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "src/data/npy.h"
#include "src/train/safetensors.h"
#include "src/util/check.h"

namespace {

// Must match expected_tensors() in check_safetensors.py: layers 0..11, weight [l+2, l+3]
// and bias [l+2], element e of (layer l, kind k: 0 weight, 1 bias) equal to
// (l*1000 + k*500 + e % 401 - 200) / 8, exact in float32. Added last layer first, as the
// trainer's gradient-bucket order does, so the writer's own ordering is what is checked.
int write_safetensors_file(const std::string& path) {
  dp::ParamLayout layout;
  for (int l = 11; l >= 0; --l) {
    layout.add("layers." + std::to_string(l) + ".weight", {l + 2, l + 3});
    layout.add("layers." + std::to_string(l) + ".bias", {l + 2});
  }
  std::vector<float> values(static_cast<std::size_t>(layout.buffer_count()));
  for (const auto& t : layout.tensors()) {
    const int l = std::stoi(t.name.substr(7, t.name.find('.', 7) - 7));
    const int k = t.name.find("bias") != std::string::npos ? 1 : 0;
    for (std::int64_t e = 0; e < t.count; ++e)
      values[static_cast<std::size_t>(t.offset + e)] =
          static_cast<float>(l * 1000 + k * 500 + static_cast<int>(e % 401) - 200) / 8.0f;
  }
  dp::write_safetensors(
      path, layout, values.data(),
      {{"format", "pt"}, {"producer", "dptrain data_interop"}, {"config", "{\"layers\": 12}"}});
  return 0;
}

// Must match CPP_WRITTEN in npy_interop.py.
int write_npy_files(const std::string& dir) {
  std::vector<float> f34(12);
  for (std::size_t i = 0; i < f34.size(); ++i) f34[i] = static_cast<float>(i) * 0.5f - 3.0f;
  dp::write_npy(dir + "/f4_3x4.npy", "<f4", {3, 4}, f34.data());
  const std::vector<float> f7 = {0.1f, -1e30f, 1e-40f, 0.0f, -0.0f, 3.25f, 65504.0f};
  dp::write_npy(dir + "/f4_7.npy", "<f4", {7}, f7.data());
  const std::vector<std::int32_t> i5 = {-2147483647 - 1, -1, 0, 1, 2147483647};
  dp::write_npy(dir + "/i4_5.npy", "<i4", {5}, i5.data());
  const std::int64_t scalar = -(std::int64_t{1} << 40);
  dp::write_npy(dir + "/i8_scalar.npy", "<i8", {}, &scalar);
  std::vector<std::int64_t> i42(8);
  for (std::size_t i = 0; i < i42.size(); ++i) i42[i] = static_cast<std::int64_t>(i) * 1000000000000LL - 3;
  dp::write_npy(dir + "/i8_4x2.npy", "<i8", {4, 2}, i42.data());
  const std::vector<float> f1x1 = {42.0f};
  dp::write_npy(dir + "/f4_1x1.npy", "<f4", {1, 1}, f1x1.data());
  return 0;
}

std::map<std::string, std::string> read_spec(const std::string& path) {
  std::map<std::string, std::string> spec;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto sp = line.find(' ');
    spec[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return spec;
}

int check_npy_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".npy") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  int bad = 0, checked = 0;
  for (const auto& name : names) {
    const std::string npy = dir + "/" + name + ".npy";
    auto spec = read_spec(dir + "/" + name + ".txt");
    ++checked;
    auto fail = [&](const std::string& why) {
      std::cout << "MISMATCH " << name << ": " << why << "\n";
      ++bad;
    };
    if (spec.count("error")) {
      try {
        dp::read_npy(npy);
        fail("read_npy accepted a file it must refuse (" + spec["error"] + ")");
      } catch (const dp::UserError& e) {
        const std::string msg = e.what();
        if (msg.find(spec["error"]) == std::string::npos || msg.find(npy) == std::string::npos)
          fail("message '" + msg + "' lacks '" + spec["error"] + "' or the path");
        else
          std::cout << "ok " << name << " refused: " << msg << "\n";
      }
      continue;
    }
    dp::NpyArray a;
    try {
      a = dp::read_npy(npy);
    } catch (const dp::UserError& e) {
      fail(std::string("read_npy refused it: ") + e.what());
      continue;
    }
    if (a.descr != spec["descr"]) fail("descr " + a.descr + " != " + spec["descr"]);
    std::vector<std::int64_t> shape;
    std::istringstream ss(spec["shape"]);
    for (std::int64_t d; ss >> d;) shape.push_back(d);
    if (a.shape != shape) fail("shape differs from '" + spec["shape"] + "'");
    std::istringstream vs(spec["values"]);
    std::vector<double> values;
    for (std::string tok; vs >> tok;) values.push_back(std::strtod(tok.c_str(), nullptr));
    if (static_cast<std::int64_t>(values.size()) != a.count()) {
      fail("count " + std::to_string(a.count()) + " != " + std::to_string(values.size()));
      continue;
    }
    int wrong = 0;
    for (std::size_t i = 0; i < values.size(); ++i)
      if (a.at(static_cast<std::int64_t>(i)) != values[i]) {
        if (wrong++ < 3)
          std::cout << "  " << name << "[" << i << "] = " << a.at(static_cast<std::int64_t>(i))
                    << ", expected " << values[i] << "\n";
      }
    if (wrong)
      fail(std::to_string(wrong) + " wrong values");
    else
      std::cout << "ok " << name << " (" << a.descr << ", " << a.count() << " values)\n";
  }
  std::cout << checked << " files checked, " << bad << " mismatches\n";
  return (bad == 0 && checked > 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: data_interop write-safetensors PATH | write-npy DIR | check-npy DIR\n";
    return 2;
  }
  const std::string cmd = argv[1], arg = argv[2];
  try {
    if (cmd == "write-safetensors") return write_safetensors_file(arg);
    if (cmd == "write-npy") return write_npy_files(arg);
    if (cmd == "check-npy") return check_npy_files(arg);
  } catch (const std::exception& e) {
    std::cerr << "data_interop: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "data_interop: unknown command " << cmd << "\n";
  return 2;
}
