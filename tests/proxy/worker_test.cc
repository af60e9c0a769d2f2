#include "proxy/worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "proxy/runtime.h"

namespace tandem::proxy {
namespace {

using namespace std::chrono_literals;

// A task posted to a worker runs on that worker's loop thread; once the loop has ended (the
// worker stopped) it is dropped — run inline on the poster's thread instead, it would touch the
// stopped worker's state (its health monitor) from another thread.
TEST(Worker, PostRunsOnTheLoopAndIsDroppedAfterItEnds) {
  std::string error;
  Config config;
  auto runtime = Runtime::build(config, &error);
  ASSERT_TRUE(runtime) << error;
  Worker worker(*runtime, 0);
  worker.setPeers({&worker});

  std::atomic<bool> ran{false};
  std::atomic<bool> onOtherThread{false};
  std::thread::id poster = std::this_thread::get_id();
  // A worker with nothing registered (this empty config has no listener and no check) keeps
  // its loop running until it is stopped: a task posted after it started runs.
  worker.startThread();
  worker.post([&] {
    onOtherThread = std::this_thread::get_id() != poster;
    ran = true;
  });
  // Bounded generously: on a loaded 2-core CI machine the thread may start late.
  for (int i = 0; i < 2000 && !ran; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(ran);
  EXPECT_TRUE(onOtherThread);

  worker.requestStop(Duration(0));
  worker.join();
  bool late = false;
  worker.post([&] { late = true; });
  EXPECT_FALSE(late) << "a task posted after the loop ended ran on the poster's thread";
}

}  // namespace
}  // namespace tandem::proxy
