import time, os, numpy as np
os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import tensorflow as tf
data = open("/tmp/syn/criteo1m.txt","rb").read(8<<20); data = data[:data.rfind(b"\n")]
n = data.count(b"\n")+1
c = tf.constant(data)
def a(c):
    lines = tf.strings.split(c, "\n")
    return tf.strings.split(lines, "\t").to_tensor("", shape=[None, 40])
def b(c):
    lines = tf.strings.split(c, "\n")
    return tf.stack(tf.io.decode_csv(lines, [[""]]*40, field_delim="\t", use_quote_delim=False), 1)
def d(c):
    lines = tf.strings.split(c, "\n")
    return tf.io.decode_csv(lines, [[""]]*40, field_delim="\t", use_quote_delim=False)
for name, fn in [("split", a), ("decode_csv", b), ("decode_csv nostack", d)]:
    g = tf.function(fn); g(c)
    ts=[]
    for _ in range(5):
        t=time.time(); g(c); ts.append(time.time()-t)
    print(name, int(n/np.median(ts)), "rows/s")
t=time.time()
for _ in range(5):
    a8 = np.frombuffer(data, np.uint8)
    nl = np.flatnonzero(a8 == 10)
    tabs = np.cumsum(a8 == 9)
    ends = np.concatenate([nl, [len(a8)]])
    cnt = np.diff(np.concatenate([[0], tabs[ends - 1]]))
print("numpy tab count", int(5*n/(time.time()-t)))
