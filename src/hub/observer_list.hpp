#pragma once
/// Several HubObservers as one: a run's inbox and an embedding program's session watch the same hub.

#include <vector>

#include "hub/hub.hpp"

namespace mpiq::hub {

/// Passes every call on to each observer, in the order they were added; a run stays open while any
/// of them keeps it open, and start reports are asked for when any of them wants them.
class ObserverList final : public HubObserver {
 public:
  /// Adds `o` (ignored when null); call before Hub::run.
  void add(HubObserver* o) {
    if (o) observers_.push_back(o);
  }
  bool empty() const noexcept { return observers_.empty(); }

  void sent(int worker, std::span<const core::TaskIndex> tasks) override {
    for (HubObserver* o : observers_) o->sent(worker, tasks);
  }
  void started(core::TaskIndex task, int worker) override {
    for (HubObserver* o : observers_) o->started(task, worker);
  }
  void finalized(std::span<const core::TaskIndex> rows) override {
    for (HubObserver* o : observers_) o->finalized(rows);
  }
  bool wants_starts() const override {
    for (HubObserver* o : observers_)
      if (o->wants_starts()) return true;
    return false;
  }
  void poll(Hub& hub) override {
    for (HubObserver* o : observers_) o->poll(hub);
  }
  bool keeps_open() const override {
    for (HubObserver* o : observers_)
      if (o->keeps_open()) return true;
    return false;
  }

 private:
  std::vector<HubObserver*> observers_;
};

}  // namespace mpiq::hub
