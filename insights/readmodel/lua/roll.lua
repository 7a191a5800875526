-- Move the window sets to a new day: subtract the days that left each window.
-- KEYS[1]: asof; then pairs (window set, day set leaving it), all in the {g} slot.
-- ARGV[1]: the asof the caller read; ARGV[2]: the new day. Does nothing (returns 0)
-- when asof moved meanwhile: another consumer rolled.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS, 2 do
  redis.call('ZUNIONSTORE', KEYS[i], 2, KEYS[i], KEYS[i + 1], 'WEIGHTS', 1, -1)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', 0)
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
