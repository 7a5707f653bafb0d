// Runs a sketch on the host: setup(), then loop() driven by a script read from stdin.
//
// Each script line is sent to the sketch's Serial input followed by '\n', and loop() runs
// until the sketch has read it all. A line "#wait <ms>" runs loop() for that many virtual
// milliseconds instead. Serial output goes to stdout.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <deque>
#include <string>

#include "Arduino.h"

FakeSerial Serial;

namespace {
unsigned long g_now_us = 1000;
std::deque<uint8_t> g_rx;

void run_loops(unsigned long until_us) {
  while (static_cast<long>(g_now_us - until_us) < 0) {
    loop();
    g_now_us += 97;
  }
}
}  // namespace

unsigned long micros() {
  g_now_us += 3;
  return g_now_us;
}
unsigned long millis() { return micros() / 1000; }
void delay(unsigned long ms) { g_now_us += ms * 1000; }

int FakeSerial::available() { return static_cast<int>(g_rx.size()); }
int FakeSerial::read() {
  if (g_rx.empty()) return -1;
  const int byte = g_rx.front();
  g_rx.pop_front();
  return byte;
}
size_t FakeSerial::write(uint8_t byte) { return fwrite(&byte, 1, 1, stdout); }
size_t FakeSerial::write(const uint8_t* data, size_t length) {
  return fwrite(data, 1, length, stdout);
}

int main() {
  setup();
  char buffer[1 << 17];
  while (fgets(buffer, sizeof(buffer), stdin) != nullptr) {
    std::string line(buffer);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.rfind("#wait ", 0) == 0) {
      run_loops(g_now_us + 1000ul * strtoul(line.c_str() + 6, nullptr, 10));
      continue;
    }
    for (char c : line) g_rx.push_back(static_cast<uint8_t>(c));
    g_rx.push_back('\n');
    for (int i = 0; i < 1000000 && !g_rx.empty(); ++i) {
      loop();
      g_now_us += 97;
    }
    run_loops(g_now_us + 2000);
  }
  fflush(stdout);
  return 0;
}
