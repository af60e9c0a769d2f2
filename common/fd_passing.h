// Messages with an attached file descriptor (SCM_RIGHTS) over a unix socket: how a listening
// socket moves from the supervisor to a new proxy worker without ever being closed.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/fd.h"

namespace tandem {

// Sends one message, with `passFd` attached when >= 0. Never raises SIGPIPE. false on error.
bool sendMessage(int socket, std::string_view message, int passFd = -1, bool block = true);

// Receives one message into *message (and an attached fd into *passed, close-on-exec).
// Returns the byte count, 0 when the peer closed, -1 on error (errno set; EAGAIN when a
// non-blocking socket has nothing).
ssize_t receiveMessage(int socket, std::string* message, UniqueFd* passed);

}  // namespace tandem
