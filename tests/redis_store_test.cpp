// redis_store: placeholder until the Redis store lands.
#include <catch2/catch.hpp>
