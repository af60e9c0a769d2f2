#include "vrrp/state_machine.h"

#include <gtest/gtest.h>

namespace tandem::vrrp {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

MachineParams params(uint8_t prio, bool preempt = true) {
  MachineParams p;
  p.version = 3;
  p.priority = prio;
  p.advertInterval = 100ms;
  p.preempt = preempt;
  p.primaryAddress = ip("198.18.0.1");
  return p;
}

Advertisement advert(uint8_t prio, uint16_t cs = 10) {
  Advertisement a;
  a.version = 3;
  a.vrid = 51;
  a.priority = prio;
  a.maxAdverIntervalCs = cs;
  return a;
}

StateMachine master(uint8_t prio, bool preempt = true) {
  StateMachine m(params(prio, preempt));
  m.startup(Micros(0));
  m.onMasterDownTimer();
  return m;
}

// RFC 5798 §6.4.1
TEST(StateMachine, StartsBackupWithMasterDownInterval) {
  StateMachine m(params(100));
  Actions a = m.startup(Micros(0));
  EXPECT_EQ(a.newState, State::Backup);
  EXPECT_EQ(a.masterDownTimer, Micros(360937));  // 3 x 100 ms + (256-100)/256 x 100 ms
}

TEST(StateMachine, AddressOwnerStartsMaster) {
  StateMachine m(params(255));
  Actions a = m.startup(Micros(0));
  EXPECT_EQ(a.newState, State::Master);
  EXPECT_TRUE(a.sendAdvert && a.takeAddresses);
}

// RFC 5798 §6.4.2
TEST(StateMachine, MasterDownTimerMakesMaster) {
  StateMachine m(params(100));
  m.startup(Micros(0));
  Actions a = m.onMasterDownTimer();
  EXPECT_EQ(a.newState, State::Master);
  EXPECT_TRUE(a.sendAdvert && a.takeAddresses);
  EXPECT_EQ(a.adverTimer, Micros(100000));
}

TEST(StateMachine, BackupLearnsTheMastersIntervalAndResetsItsTimer) {
  StateMachine m(params(100));
  m.startup(Micros(0));
  Actions a = m.onAdvert(advert(150, 100), ip("198.18.0.2"), Micros(1000));
  EXPECT_EQ(m.masterAdverInterval(), 1s);
  EXPECT_EQ(a.masterDownTimer, Micros(3609375));
  EXPECT_FALSE(a.newState);
}

TEST(StateMachine, PriorityZeroShortensTheWaitToSkewTime) {
  StateMachine m(params(100));
  m.startup(Micros(0));
  Actions a = m.onAdvert(advert(0), ip("198.18.0.2"), Micros(1000));
  EXPECT_EQ(a.masterDownTimer, Micros(60937));  // (256-100)/256 x 100 ms
}

TEST(StateMachine, PreemptDiscardsALowerPriorityMaster) {
  StateMachine m(params(200));
  m.startup(Micros(0));
  Actions a = m.onAdvert(advert(100), ip("198.18.0.2"), Micros(1000));
  EXPECT_FALSE(a.masterDownTimer);  // timer keeps running: we take over when it fires
}

TEST(StateMachine, NopreemptAcceptsALowerPriorityMaster) {
  StateMachine m(params(200, /*preempt=*/false));
  m.startup(Micros(0));
  Actions a = m.onAdvert(advert(100), ip("198.18.0.2"), Micros(1000));
  EXPECT_TRUE(a.masterDownTimer);
}

TEST(StateMachine, PreemptDelayHoldsOffPreemptionAfterStartup) {
  MachineParams p = params(200);
  p.preemptDelay = 5s;
  StateMachine m(p);
  m.startup(Micros(0));
  EXPECT_TRUE(m.onAdvert(advert(100), ip("198.18.0.2"), Micros(1000000)).masterDownTimer);
  EXPECT_FALSE(m.onAdvert(advert(100), ip("198.18.0.2"), Micros(6000000)).masterDownTimer);
}

// RFC 5798 §6.4.3
TEST(StateMachine, MasterYieldsToHigherPriority) {
  StateMachine m = master(100);
  Actions a = m.onAdvert(advert(150), ip("198.18.0.2"), Micros(1000));
  EXPECT_EQ(a.newState, State::Backup);
  EXPECT_TRUE(a.releaseAddresses && a.cancelAdver);
  EXPECT_TRUE(a.masterDownTimer);
  EXPECT_TRUE(a.sendAdvert);  // a last word so the winner re-announces
}

TEST(StateMachine, EqualPriorityHigherAddressWins) {
  StateMachine m = master(100);  // we are 198.18.0.1
  EXPECT_EQ(m.onAdvert(advert(100), ip("198.18.0.2"), Micros(1000)).newState, State::Backup);
  StateMachine m2 = master(100);
  Actions a = m2.onAdvert(advert(100), ip("198.18.0.0"), Micros(1000));
  EXPECT_FALSE(a.newState);
  EXPECT_TRUE(a.sendAdvert);  // we stay master and say so at once
  EXPECT_TRUE(a.reannounce);  // and announce the addresses again
}

TEST(StateMachine, MasterAnswersAResignationWithAnAdvert) {
  StateMachine m = master(100);
  Actions a = m.onAdvert(advert(0), ip("198.18.0.2"), Micros(1000));
  EXPECT_TRUE(a.sendAdvert);
  EXPECT_EQ(a.adverTimer, Micros(100000));
}

TEST(StateMachine, ShutdownOfAMasterSendsPriorityZero) {
  StateMachine m = master(100);
  Actions a = m.shutdown();
  EXPECT_TRUE(a.sendPriorityZero && a.releaseAddresses);
  EXPECT_EQ(a.newState, State::Initialize);
  StateMachine b(params(100));
  b.startup(Micros(0));
  EXPECT_FALSE(b.shutdown().sendPriorityZero);
}

TEST(StateMachine, AdverTimerKeepsAdvertising) {
  StateMachine m = master(100);
  Actions a = m.onAdverTimer();
  EXPECT_TRUE(a.sendAdvert);
  EXPECT_EQ(a.adverTimer, Micros(100000));
}

// keepalived's FAULT and priority tracking
TEST(StateMachine, FaultReleasesAndResignsThenRejoinsAsBackup) {
  StateMachine m = master(100);
  Actions f = m.enterFault();
  EXPECT_EQ(f.newState, State::Fault);
  EXPECT_TRUE(f.sendPriorityZero && f.releaseAddresses);
  EXPECT_FALSE(m.onMasterDownTimer().newState);
  Actions back = m.leaveFault(Micros(10000000));
  EXPECT_EQ(back.newState, State::Backup);
  EXPECT_TRUE(back.masterDownTimer);
}

TEST(StateMachine, LoweredPriorityIsAnnouncedAtOnce) {
  StateMachine m = master(150);
  Actions a = m.setPriority(90);
  EXPECT_TRUE(a.sendAdvert);
  EXPECT_EQ(m.priority(), 90);
  // A backup with 100 now preempts us.
  EXPECT_EQ(m.onAdvert(advert(100), ip("198.18.0.0"), Micros(1000)).newState, State::Backup);
}

TEST(StateMachine, V2UsesTheFixedSkew) {
  MachineParams p = params(100);
  p.version = 2;
  p.advertInterval = 1s;
  StateMachine m(p);
  EXPECT_EQ(m.startup(Micros(0)).masterDownTimer, Micros(3609375));
}

}  // namespace
}  // namespace tandem::vrrp
