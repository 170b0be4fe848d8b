-- connect(prefix, hub, user, chosen or ''): a ready connection of the user on this hub.
local hub, user, chosen = ARGV[2], ARGV[3], ARGV[4]
local key = presence_key(user)
redis.call('HINCRBY', key, 'h:' .. hub, 1)
redis.call('SADD', hub_users_key(hub), user)
redis.call('ZREM', settling_key, user)
if chosen ~= '' then redis.call('HSET', key, 'chosen', chosen) end
return transition(user, nil)
