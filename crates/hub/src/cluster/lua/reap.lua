-- reap(prefix, dead_hub): a hub stopped its heartbeats. Its connections are gone: its users
-- with no connection elsewhere go offline now, last seen at its last heartbeat. Only the first
-- hub to reap it gets the transitions.
local dead = ARGV[2]
local last = redis.call('ZSCORE', hubs_key, dead)
if not last then return {} end
redis.call('ZREM', hubs_key, dead)
local out = {}
for _, user in ipairs(redis.call('SMEMBERS', hub_users_key(dead))) do
  local key = presence_key(user)
  redis.call('HDEL', key, 'h:' .. dead)
  if connections(key) == 0 then
    redis.call('ZREM', settling_key, user)
    local t = transition(user, tonumber(last))
    if t then table.insert(out, t) end
  end
end
redis.call('DEL', hub_users_key(dead))
return out
