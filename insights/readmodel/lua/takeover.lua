-- Take partitions over for a generation a backfill builds: per partition, the first mark
-- set stays (KEYS[1], the take-over marks), and the generation's {g} watermark starts
-- there (KEYS[2]), to move on with the batches the consumers apply past it.
-- ARGV: field, mark, field, mark...; returns the marks in force, in ARGV order.
local marks = {}
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
  end
  marks[#marks + 1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return marks
