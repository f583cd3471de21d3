// Collective decisions about errors, so every rank exits the same way.
#pragma once

#include <functional>
#include <stdexcept>

#include "comm/communicator.h"

namespace dp {

// A failure during the run that all ranks have agreed on (replica drift, a failed
// collective): main prints it once and exits 3.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs body on every rank. If body throws UserError on one or more ranks, every rank
// throws the UserError of the lowest failing rank (one message, the same exit code
// everywhere, and no rank left waiting in a later collective).
void agree_on_user_errors(Communicator& comm, const std::function<void()>& body);

}  // namespace dp
