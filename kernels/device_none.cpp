// kernels/device.h in a build without the CUDA backend: no devices; any other call is a
// programming error (callers check count() first) and says so.
#include "kernels/device.h"
#include "src/util/check.h"

namespace dp::device {
namespace {
[[noreturn]] void not_built(const char* what) {
  check_failed(__FILE__, __LINE__, what, "this dptrain was built without the CUDA backend");
}
}  // namespace

bool compiled() {
  return false;
}
int count() {
  return 0;
}
std::string unavailable_reason() {
  return "this build has no CUDA backend (nvcc, cuBLAS or NCCL not found)";
}
std::string pci_bus_id(int) {
  not_built("device::pci_bus_id");
}
std::string describe(int) {
  not_built("device::describe");
}
void select(int) {
  not_built("device::select");
}
int current() {
  not_built("device::current");
}
void* alloc(std::size_t) {
  not_built("device::alloc");
}
void release(void*) noexcept {}
void* alloc_pinned(std::size_t) {
  not_built("device::alloc_pinned");
}
void release_pinned(void*) noexcept {}
void copy(void*, const void*, std::size_t, void*) {
  not_built("device::copy");
}
void fill_bytes(void*, int, std::size_t, void*) {
  not_built("device::fill_bytes");
}
void synchronize(void*) {
  not_built("device::synchronize");
}
void synchronize_device() {
  not_built("device::synchronize_device");
}
std::size_t free_nbytes() {
  not_built("device::free_nbytes");
}
void event_wait_host(void*) {
  not_built("device::event_wait_host");
}
void* event_create() {
  not_built("device::event_create");
}
void event_destroy(void*) noexcept {}
void event_record(void*, void*) {
  not_built("device::event_record");
}
void stream_wait(void*, void*) {
  not_built("device::stream_wait");
}
bool event_done(void*) {
  not_built("device::event_done");
}
void* stream_create() {
  not_built("device::stream_create");
}
void stream_destroy(void*) noexcept {}
NvtxRange::NvtxRange(const char*) {}
NvtxRange::~NvtxRange() = default;
Runtime::Runtime(int, bool) {
  not_built("device::Runtime");
}
Runtime::~Runtime() = default;

}  // namespace dp::device
