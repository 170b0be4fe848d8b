-- heartbeat(prefix, hub, dead_after_ms): this hub is alive. Returns {1 when this hub was not
-- listed (it was taken for dead, or Redis lost its data), the hubs silent for too long}.
local hub, dead_after = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local unknown = redis.call('ZADD', hubs_key, now, hub)
return {unknown, redis.call('ZRANGEBYSCORE', hubs_key, '-inf', now - dead_after)}
