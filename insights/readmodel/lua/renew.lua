-- Keep a lock alive only while it is still this holder's.
-- KEYS[1] the lock; ARGV[1] the holder's token, ARGV[2] seconds to live.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('EXPIRE', KEYS[1], ARGV[2])
