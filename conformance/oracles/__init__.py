"""Independent, deliberately simple reference implementations that the checks compare products against."""
