-- Merge window HyperLogLogs again for a new day: each is the union of its day HLLs in
-- the window (a union cannot subtract the day that left, so it is built anew).
-- KEYS: for each name, its day, week and month window HLLs, then the day HLLs of the
--   month window (oldest first, tomorrow last); then the names set (last key).
-- ARGV[1]: ttl seconds; ARGV[2]: JSON [[name, how many day HLLs for day, week, month]...].
-- A name whose month window is empty has no day HLL left: it leaves the names set.
local names_key = KEYS[#KEYS]
local k = 1
for _, entry in ipairs(cjson.decode(ARGV[2])) do
  local windows = {KEYS[k], KEYS[k + 1], KEYS[k + 2]}
  local days = {}
  for d = 1, entry[4] do days[d] = KEYS[k + 2 + d] end
  for p = 1, 3 do
    redis.call('DEL', windows[p])
    redis.call('PFMERGE', windows[p], unpack(days, #days - entry[p + 1] + 1, #days))
    redis.call('EXPIRE', windows[p], tonumber(ARGV[1]))
  end
  if redis.call('PFCOUNT', windows[3]) == 0 then
    redis.call('DEL', windows[1], windows[2], windows[3])
    redis.call('SREM', names_key, entry[1])
  end
  k = k + 3 + entry[4]
end
return 1
