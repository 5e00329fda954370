start pid=abc
