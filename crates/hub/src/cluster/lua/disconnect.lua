-- disconnect(prefix, hub, user, grace_ms): a ready connection of the user on this hub closed.
-- Returns 1 when it was their last on any hub (the grace period started), else 0.
local hub, user, grace = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = presence_key(user)
if redis.call('HINCRBY', key, 'h:' .. hub, -1) <= 0 then
  redis.call('HDEL', key, 'h:' .. hub)
  redis.call('SREM', hub_users_key(hub), user)
end
if connections(key) > 0 then return 0 end
start_grace(user, grace)
return 1
