-- settle(prefix): the users whose grace period is over and who did not come back go offline.
-- Any hub may run it; each transition is returned to one of them only.
local out = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', settling_key, '-inf', now_ms())) do
  redis.call('ZREM', settling_key, user)
  local key = presence_key(user)
  if connections(key) == 0 then
    local t = transition(user, tonumber(redis.call('HGET', key, 'left_at')))
    if t then table.insert(out, t) end
  end
end
return out
