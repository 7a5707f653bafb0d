// Test stand-in for the Arduino core, so tinybench's sketches compile and run on the host.
// fake_arduino_main.cpp drives setup() and loop() from a script on stdin; Serial output goes to
// stdout and time is virtual (every micros() call advances the clock a little).
#ifndef TINYBENCH_FAKE_ARDUINO_H_
#define TINYBENCH_FAKE_ARDUINO_H_

#include <stddef.h>
#include <stdint.h>

unsigned long micros();
unsigned long millis();
void delay(unsigned long ms);

class FakeSerial {
 public:
  void begin(unsigned long baud) { baud_ = baud; }
  int available();
  int read();
  size_t write(uint8_t byte);
  size_t write(const uint8_t* data, size_t length);
  size_t write(const char* data, size_t length) {
    return write(reinterpret_cast<const uint8_t*>(data), length);
  }
  explicit operator bool() const { return baud_ != 0; }

 private:
  unsigned long baud_ = 0;
};

extern FakeSerial Serial;

void setup();
void loop();

#endif  // TINYBENCH_FAKE_ARDUINO_H_
