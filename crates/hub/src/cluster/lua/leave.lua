-- leave(prefix, hub, grace_ms): this hub shuts down. Whatever connections it still counts are
-- closing; users with none elsewhere start their grace period, so that a client that reconnects
-- to another hub in time is not shown offline in between.
local hub, grace = ARGV[2], tonumber(ARGV[3])
redis.call('ZREM', hubs_key, hub)
for _, user in ipairs(redis.call('SMEMBERS', hub_users_key(hub))) do
  local key = presence_key(user)
  redis.call('HDEL', key, 'h:' .. hub)
  if connections(key) == 0 then start_grace(user, grace) end
end
redis.call('DEL', hub_users_key(hub))
return 0
