-- reassert(prefix, hub, user, count, chosen, user, count, chosen, ...): after Redis came back
-- (or took this hub for dead), its connections as they are. Returns the transitions.
local hub = ARGV[2]
redis.call('ZADD', hubs_key, now_ms(), hub)
local out = {}
for i = 3, #ARGV, 3 do
  local user, count, chosen = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local key = presence_key(user)
  redis.call('HSET', key, 'h:' .. hub, count)
  redis.call('SADD', hub_users_key(hub), user)
  redis.call('ZREM', settling_key, user)
  if not redis.call('HGET', key, 'chosen') then redis.call('HSET', key, 'chosen', chosen) end
  local t = transition(user, nil)
  if t then table.insert(out, t) end
end
return out
