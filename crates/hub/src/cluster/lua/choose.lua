-- choose(prefix, user, chosen): the user chose a status.
local user, chosen = ARGV[2], ARGV[3]
redis.call('HSET', presence_key(user), 'chosen', chosen)
return transition(user, nil)
