// Test stand-in for the Arduino_LSM6DSOX library.
#include "fake_imu.h"
